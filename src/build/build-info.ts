// Version and commit of this build (from NODESENTRY_COMMIT or dist/build-info.json).
import { readFileSync } from 'node:fs';

/** What this build is: shown by `nodesentry --version`, in `/livez` and in `nodesentry_build_info`. */
export interface BuildInfo {
  /** package.json's version, e.g. `0.1.0`. */
  readonly version: string;
  /** Git commit the build was made from (full or short hex), or `unknown`. */
  readonly commit: string;
  /** The Node.js running it, e.g. `v20.18.1`. */
  readonly node: string;
}

const COMMIT_PATTERN = /^[0-9a-f]{7,40}$/;
let cached: BuildInfo | undefined;

/**
 * Read once per process. The commit comes from NODESENTRY_COMMIT (a container build passes it as
 * a build argument: images have no .git), else from dist/build-info.json, which `npm run build`
 * writes from `git rev-parse` (scripts/write-build-info.mjs). Both src/ and dist/ sit beside
 * package.json, so the same relative paths work from the sources (tests) and from the build.
 */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const version = readJson(new URL('../../package.json', import.meta.url))?.version;
  const fromEnv = process.env.NODESENTRY_COMMIT?.trim().toLowerCase();
  const fromFile = readJson(new URL('../../dist/build-info.json', import.meta.url))?.commit;
  const commit =
    [fromEnv, fromFile].find((c): c is string => typeof c === 'string' && COMMIT_PATTERN.test(c)) ?? 'unknown';
  cached = { version: typeof version === 'string' ? version : '0.0.0', commit, node: process.version };
  return cached;
}

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
