// The import graph of src/ and its checks (docs/architecture.md): every relative import, static,
// `export ... from`, type-only and dynamic, file to file; the layers and the rules between them.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** file (posix path relative to the repo, e.g. `src/api/app.ts`) -> the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The layers, lowest first. A file may import its own layer's files and any lower layer's;
 * layers in one group are peers and may not import each other.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'build', 'defaults'],
  ['rpc'],
  ['chains'],
  ['health'],
  ['store'],
  ['config'],
  ['logging'],
  ['view'],
  ['polling'],
  ['read'],
  ['metrics', 'proxy', 'ui'],
  ['api'],
  ['service'],
  // The simulator is a peer of the composition root: main never loads it; only the CLI's
  // demo and simulate commands do.
  ['main', 'simulator'],
  ['cli'],
];

/** The layer a file belongs to: its folder under src/, or for a top-level file its name (`src/main.ts` -> main). */
export function layerOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.ts$/, '');
}

/**
 * The relative imports in one file's text: TypeScript's own scanner (`preProcessFile`) reads
 * them, so comments and strings cannot fool it; `import()` calls count too.
 */
export function importsOf(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

/** Read every .ts file under `root/src` and resolve its imports (`./x.js` -> `src/.../x.ts`). */
export function readGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const text = readFileSync(path.join(root, rel), 'utf8');
        graph.set(
          rel,
          importsOf(text).map((spec) =>
            path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec.replace(/\.js$/, '.ts'))),
          ),
        );
      }
    }
  };
  walk('src');
  return graph;
}

/** Every import cycle, as the files of each strongly connected component (Tarjan), sorted. */
export function findCycles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      const selfLoop = scc.length === 1 && (graph.get(v) ?? []).includes(v);
      if (scc.length > 1 || selfLoop) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** Imports against the layer direction (upward, or between peers), and files in no layer, as `from -> to (why)`. */
export function layerViolations(graph: ImportGraph, layers: readonly (readonly string[])[] = LAYERS): string[] {
  const rank = new Map<string, number>();
  layers.forEach((group, i) => group.forEach((layer) => rank.set(layer, i)));
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    if (!rank.has(a)) {
      out.push(`${from} (layer "${a}" is not in the list)`);
      continue;
    }
    for (const to of targets) {
      const b = layerOf(to);
      if (a === b) continue;
      if (!rank.has(b)) out.push(`${from} -> ${to} (layer "${b}" is not in the list)`);
      else if (rank.get(b)! > rank.get(a)!) out.push(`${from} -> ${to} (${a} may not import ${b}, a higher layer)`);
      else if (rank.get(b) === rank.get(a)) out.push(`${from} -> ${to} (${a} and ${b} are peers)`);
    }
  }
  return out.sort();
}

/** Imports of files that do not exist (a path typo would otherwise hide an edge). */
export function missingTargets(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) for (const to of targets) if (!graph.has(to)) out.push(`${from} -> ${to}`);
  return out.sort();
}

/** Every file `start` loads, directly or through others (static and dynamic imports). */
export function reachable(graph: ImportGraph, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return seen;
}
