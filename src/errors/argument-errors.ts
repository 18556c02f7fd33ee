// Coded errors for a caller's mistake: a bad option or argument (a programming or configuration
// error, never transient). They stay a TypeError / RangeError, as before, and gain a stable code.

/** Stable codes of argument errors (callers branch on these, never on the message). */
export const ArgumentErrorCode = {
  /** A value of the wrong kind or shape: not a URL, an empty replica name, a mismatched id. */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** A number outside what the option accepts: a zero limit, a negative timeout. */
  OutOfRange: 'OUT_OF_RANGE',
} as const;

/** A value of the wrong kind or shape. Like BaseError: `code`, a safe `shortMessage`, not transient. */
export class InvalidArgumentError extends TypeError {
  override name = 'InvalidArgumentError';
  readonly code: string;
  readonly shortMessage: string;
  readonly transient = false;

  constructor(message: string, code: string = ArgumentErrorCode.InvalidArgument) {
    super(message);
    this.code = code;
    this.shortMessage = message;
  }
}

/** A number outside what the option accepts. Like BaseError: `code`, a safe `shortMessage`, not transient. */
export class OutOfRangeError extends RangeError {
  override name = 'OutOfRangeError';
  readonly code: string = ArgumentErrorCode.OutOfRange;
  readonly shortMessage: string;
  readonly transient = false;

  constructor(message: string) {
    super(message);
    this.shortMessage = message;
  }
}
