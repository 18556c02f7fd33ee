import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  /** Where lines go; default stdout. Tests pass a stream to read every line back. */
  readonly destination?: DestinationStream;
}

/**
 * Structured JSON logs (pino). Credentials never reach a log line by construction (URLs are
 * credential-free, `Credentials` serialise as "[redacted]"); the redact list is a second belt
 * for fields that could carry secrets if someone logged a raw object.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
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
    opts.destination,
  );
}
