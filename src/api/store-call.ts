// Runs a store call for a request: store failures become 503 problems.
import { StoreError } from '../store/store-errors.js';
import { ProblemError } from './problem.js';

/**
 * Run a store call for a request: a store that is down or closed is a 503 the client may retry
 * (with the store's stable code), not a 500. Anything else is a bug and reaches the error handler.
 */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) {
      throw new ProblemError({
        status: 503,
        code: 'store_unavailable',
        title: 'store unavailable',
        detail: `the store could not ${what} right now; try again`,
        extra: { storeError: err.code },
      });
    }
    throw err;
  }
}
