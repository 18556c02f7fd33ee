// Run by `npm run build` after tsc: records the commit the build was made from in
// dist/build-info.json (read by src/build/build-info.ts). NODESENTRY_COMMIT wins (container
// builds have no .git); without either, the commit is "unknown" and the build still succeeds.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

let commit = process.env.NODESENTRY_COMMIT?.trim() || '';
if (!commit) {
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    commit = 'unknown';
  }
}
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify({ commit })}\n`);
