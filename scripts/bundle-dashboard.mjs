// Run by `npm run build` after tsc has compiled the dashboard's browser modules
// (src/ui/client/*.ts -> dist/ui/client/*.js): joins them into the one classic script the page
// loads, dist/ui/dashboard.js, read by src/ui/assets.ts and served hashed and immutable.
// The modules were one closure before they were split, so joining is all a bundler would do
// here: drop the `import` lines, keep the declarations without `export`, wrap them in one IIFE.
// The order below is the order of the original script (top-level constants before their
// users); a module missing from it, or a renamed or namespace import, fails the build.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const ORDER = ['constants', 'dom', 'format', 'api', 'state', 'live', 'charts', 'render', 'heads', 'detail', 'main'];
const dir = new URL('../dist/ui/client/', import.meta.url);
const present = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
const missing = present.filter((m) => !ORDER.includes(m));
if (missing.length > 0) throw new Error(`scripts/bundle-dashboard.mjs: add ${missing.join(', ')} to ORDER`);

const parts = ORDER.map((name) => {
  const lines = readFileSync(new URL(`${name}.js`, dir), 'utf8').split('\n');
  const out = [];
  for (const line of lines) {
    if (line.startsWith('import ')) {
      if (!/^import \{ [\w$, ]+ \} from '\.\/[\w-]+\.js';$/.test(line)) throw new Error(`${name}.ts: only named imports of sibling modules can be joined: ${line}`);
      continue;
    }
    if (/^export (default|\{|\*)/.test(line)) throw new Error(`${name}.ts: only exported declarations can be joined: ${line}`);
    if (line.startsWith('//# sourceMappingURL')) continue;
    out.push(line.startsWith('export ') ? line.slice('export '.length) : line);
  }
  return `// ---------- ${name}.ts ----------\n${out.join('\n').trim()}\n`;
});
const script = `'use strict';\n(() => {\n${parts.join('\n')}})();\n`;
writeFileSync(new URL('../dist/ui/dashboard.js', import.meta.url), script);
