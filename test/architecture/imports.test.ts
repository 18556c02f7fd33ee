import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  findCycles,
  importsOf,
  layerViolations,
  missingTargets,
  reachable,
  readGraph,
  type ImportGraph,
} from './import-graph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const graph = readGraph(root);

const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('the checker', () => {
  it('when a file imports in every form, then each relative import is found and comments are not', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "import './side-effect.js';",
      "export { c } from './c.js';",
      "export type { D } from './d.js';",
      "const e = await import('./e.js');",
      "import {\n  f,\n  g,\n} from './fg.js';",
      "import pino from 'pino';",
      "// import { no } from './commented.js'; (cli/*) is no comment opener here",
      'const s = "import { no } from \'./in-a-string.js\'";',
      "/* import { no } from './block.js'; */",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      './a.js',
      '../b/b.js',
      './side-effect.js',
      './c.js',
      './d.js',
      './e.js',
      './fg.js',
    ]);
  });

  it('when files import each other in a ring, then the ring is a cycle; a chain is not', () => {
    const ring = g({
      'src/a/x.ts': ['src/a/y.ts'],
      'src/a/y.ts': ['src/a/z.ts'],
      'src/a/z.ts': ['src/a/x.ts'],
      'src/a/w.ts': ['src/a/x.ts'],
    });
    expect(findCycles(ring)).toEqual([['src/a/x.ts', 'src/a/y.ts', 'src/a/z.ts']]);
    expect(findCycles(g({ 'src/a/x.ts': ['src/a/y.ts'], 'src/a/y.ts': [] }))).toEqual([]);
    expect(findCycles(g({ 'src/a/x.ts': ['src/a/x.ts'] }))).toEqual([['src/a/x.ts']]);
  });

  it('when a lower layer imports a higher one or a peer, then that import is reported; downward ones are not', () => {
    const layers = [['errors'], ['rpc'], ['api', 'metrics'], ['main']];
    const graph = g({
      'src/rpc/client.ts': ['src/errors/base.ts', 'src/api/app.ts'],
      'src/errors/base.ts': [],
      'src/api/app.ts': ['src/rpc/client.ts', 'src/metrics/m.ts'],
      'src/metrics/m.ts': [],
      'src/main.ts': ['src/api/app.ts'],
      'src/stray/x.ts': [],
    });
    expect(layerViolations(graph, layers)).toEqual([
      'src/api/app.ts -> src/metrics/m.ts (api and metrics are peers)',
      'src/rpc/client.ts -> src/api/app.ts (rpc may not import api, a higher layer)',
      'src/stray/x.ts (layer "stray" is not in the list)',
    ]);
  });
});

describe('src/', () => {
  it('has the files the checker reads (a broken walk would pass everything)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/main.ts')).toEqual(expect.arrayContaining(['src/service.ts', 'src/api/http-server.ts']));
  });

  it('imports only files that exist', () => {
    expect(missingTargets(graph)).toEqual([]);
  });

  it('has no import cycle (type-only and dynamic imports count)', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('imports only downward, along the layers of docs/architecture.md', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('loads the simulator only for demo and simulate: serve and probe never do', () => {
    for (const entry of ['src/main.ts', 'src/cli/serve-command.ts', 'src/cli/probe-command.ts']) {
      expect([...reachable(graph, entry)].filter((f) => f.startsWith('src/simulator/'))).toEqual([]);
    }
    expect([...reachable(graph, 'src/cli/demo-command.ts')]).toContain('src/simulator/simulator.ts');
  });
});
