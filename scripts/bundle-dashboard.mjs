// Run by `npm run build` after tsc has compiled the dashboard's browser modules
// (src/ui/client/*.ts -> dist/ui/client/*.js): joins them into the one classic script the page
// loads, dist/ui/dashboard.js, read by src/ui/assets.ts and served hashed and immutable.
// The modules were one closure before they were split, so joining is all a bundler would do
// here: drop the `import` lines, keep the declarations without `export`, wrap them in one IIFE.
// ORDER is the modules' dependency order, lowest first: each imports only modules before it
// (test/architecture checks there is no cycle; calls upward go through state.ts `hooks`), so
// top-level constants come before their users. A module missing from ORDER, an import of a
// module later in it, or a renamed or namespace import fails the build.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const ORDER = [
  'types',
  'constants',
  'dom',
  'format',
  'state',
  'api',
  'charts',
  'heads',
  'detail',
  'render',
  'live',
  'main',
];
const dir = new URL('../dist/ui/client/', import.meta.url);
const present = readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3));
const missing = present.filter((m) => !ORDER.includes(m));
if (missing.length > 0) throw new Error(`scripts/bundle-dashboard.mjs: add ${missing.join(', ')} to ORDER`);

const parts = ORDER.map((name, at) => {
  const lines = readFileSync(new URL(`${name}.js`, dir), 'utf8').split('\n');
  const out = [];
  for (const line of lines) {
    if (line.startsWith('import ')) {
      const m = /^import \{ [\w$, ]+ \} from '\.\/([\w-]+)\.js';$/.exec(line);
      if (!m) throw new Error(`${name}.ts: only named imports of sibling modules can be joined: ${line}`);
      const dep = ORDER.indexOf(m[1]);
      if (dep < 0 || dep >= at)
        throw new Error(`${name}.ts imports ${m[1]}, which is not before it in ORDER (scripts/bundle-dashboard.mjs)`);
      continue;
    }
    // A module of types only (types.ts) compiles to this marker and nothing else.
    if (line === 'export {};') continue;
    if (/^export (default|\{|\*)/.test(line))
      throw new Error(`${name}.ts: only exported declarations can be joined: ${line}`);
    if (line.startsWith('//# sourceMappingURL')) continue;
    out.push(line.startsWith('export ') ? line.slice('export '.length) : line);
  }
  return `// ---------- ${name}.ts ----------\n${out.join('\n').trim()}\n`;
});
const script = `'use strict';\n(() => {\n${parts.join('\n')}})();\n`;
writeFileSync(new URL('../dist/ui/dashboard.js', import.meta.url), script);
