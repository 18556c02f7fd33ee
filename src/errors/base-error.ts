/**
 * Every error nodesentry raises carries a stable `code` (callers branch on it, never on the
 * message), a `shortMessage` that is safe to show (no credentials, ever), optional `details`,
 * the `cause`, and whether retrying may help (`transient`). Modelled on viem's BaseError and
 * undici's coded errors.
 */
export interface BaseErrorOptions {
  cause?: unknown;
  details?: string;
  transient?: boolean;
}

export class BaseError extends Error {
  override name = 'NodesentryError';
  readonly code: string;
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly transient: boolean;

  constructor(code: string, shortMessage: string, options: BaseErrorOptions = {}) {
    super(
      options.details ? `${shortMessage}: ${options.details}` : shortMessage,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.transient = options.transient ?? false;
  }
}
