// StoreError and its codes: store failures callers branch on.
import { BaseError, type BaseErrorOptions } from '../errors/base-error.js';

/** Stable codes of store failures; callers branch on these, never on message text. */
export const StoreErrorCode = {
  /** Redis cannot be reached or is not serving (down, failing over, loading, timed out). Retry later. */
  Unavailable: 'STORE_UNAVAILABLE',
  /** `close()` was called; the store takes no more calls. */
  Closed: 'STORE_CLOSED',
  /** Redis answered with an error that retrying will not fix (e.g. WRONGTYPE on a foreign key). */
  CommandFailed: 'STORE_COMMAND_FAILED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends BaseError {
  override name = 'StoreError';
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }
}

export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
  constructor(options: BaseErrorOptions = {}) {
    super(StoreErrorCode.Unavailable, 'store is unavailable', { ...options, transient: true });
  }
}

export class StoreClosedError extends StoreError {
  override name = 'StoreClosedError';
  constructor(operation: string) {
    super(StoreErrorCode.Closed, `store is closed (${operation} called after close())`, { transient: false });
  }
}

export class StoreCommandError extends StoreError {
  override name = 'StoreCommandError';
  constructor(options: BaseErrorOptions = {}) {
    super(StoreErrorCode.CommandFailed, 'store command failed', { ...options, transient: false });
  }
}
