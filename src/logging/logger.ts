// The pino logger factory: JSON or pretty, credentials never logged.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '../config/settings.js';

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  /** Where lines go; default stdout (or `fd`). Tests pass a stream to read every line back. */
  readonly destination?: DestinationStream;
  /** File descriptor of the default destination: 1 stdout (default) or 2 stderr. */
  readonly fd?: 1 | 2;
  /**
   * `auto` (default): human-readable (pino-pretty) when the default destination is a terminal,
   * JSON lines otherwise (log shippers, journald, files); `pretty` or `json` force one.
   * A given `destination` gets JSON unless `pretty` is asked for.
   */
  readonly format?: LogFormat;
}

/**
 * Structured JSON logs (pino). Credentials never reach a log line by construction (URLs are
 * credential-free, `Credentials` serialise as "[redacted]"); the redact list is a second belt
 * for fields that could carry secrets if someone logged a raw object.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const fd = opts.fd ?? 1;
  const tty = opts.destination === undefined && (fd === 2 ? process.stderr.isTTY : process.stdout.isTTY) === true;
  const format = opts.format ?? 'auto';
  const human = format === 'pretty' || (format === 'auto' && tty);
  // Synchronous like pino's default destination, so the last lines before an exit are not lost.
  const destination = human
    ? pretty({
        colorize: tty,
        sync: true,
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
        ignore: 'pid,hostname',
        destination: opts.destination ?? fd,
      })
    : (opts.destination ?? (fd === 2 ? pino.destination(2) : undefined));
  return pino(
    {
      name: opts.name ?? 'nodesentry',
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      redact: {
        paths: [
          'password',
          '*.password',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'credentials',
          '*.credentials',
          'adminToken',
          'apiKey',
          'redisUrl',
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers["x-admin-token"]',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
