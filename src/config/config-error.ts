// ConfigError: every issue of a configuration source, each naming its key and file.
import { BaseError } from '../errors/base-error.js';

/** One thing wrong with a configuration source. */
export interface ConfigIssue {
  /** Key path inside the source, e.g. `nodes[2].auth.cookieFile`; the variable name for the environment; `''` for the whole file. */
  readonly path: string;
  /** What is wrong. Never contains a credential. */
  readonly message: string;
  /** 1-based line in the file, when known (YAML, and JSON files that are also valid YAML). */
  readonly line?: number;
  readonly column?: number;
}

/** How validation steps hand an issue, located by its key path, to whoever collects them. */
export type ReportIssue = (path: readonly PropertyKey[], message: string) => void;

export const CONFIG_INVALID = 'CONFIG_INVALID';

/**
 * Configuration that cannot be used: a nodes file or the service environment. `message` lists
 * every issue, one per line, as `<file>: <path>: <what is wrong>` so an operator can fix them
 * all in one go rather than one start-up at a time.
 */
export class ConfigError extends BaseError {
  override name = 'ConfigError';
  declare readonly code: typeof CONFIG_INVALID;
  /** The file as the caller named it, or `environment` for service settings. */
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], options: { cause?: unknown } = {}) {
    const lines = issues.map((issue) => formatIssue(file, issue));
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(CONFIG_INVALID, `invalid configuration in ${file} (${count})`, { details: lines.join('\n'), ...options });
    this.file = file;
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
    // The listing alone reads best when the process dies on it; the count is in shortMessage.
    this.message = lines.join('\n');
  }
}

/** `nodes.yaml: nodes[1].chain: unknown chain "bsx" (...) (line 7)`. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `;
  const line = issue.line === undefined ? '' : issue.column === undefined ? ` (line ${issue.line})` : ` (line ${issue.line}, column ${issue.column})`;
  return `${file}: ${where}${issue.message}${line}`;
}

/** `['nodes', 2, 'auth', 'cookieFile']` -> `nodes[2].auth.cookieFile`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else {
      const key = String(segment);
      // Keys come from the file, so an odd one is quoted (and cut short) rather than trusted.
      if (/^[A-Za-z_$][\w$-]{0,63}$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)}]`;
    }
  }
  return out;
}
