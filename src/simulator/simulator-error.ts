// SimulatorError: the simulator's own failures, with stable codes.
import { BaseError } from '../errors/base-error.js';

/** Stable codes of the simulator's own failures (bad specs, unknown nodes, misuse). */
export const SimulatorErrorCode = {
  InvalidSpec: 'SIM_INVALID_SPEC',
  InvalidFault: 'SIM_INVALID_FAULT',
  InvalidOptions: 'SIM_INVALID_OPTIONS',
  UnknownNode: 'SIM_UNKNOWN_NODE',
  DuplicateNode: 'SIM_DUPLICATE_NODE',
  NotOwnPort: 'SIM_NOT_OWN_PORT',
  NoCookie: 'SIM_NO_COOKIE',
  Listen: 'SIM_LISTEN_FAILED',
  Closed: 'SIM_CLOSED',
} as const;
export type SimulatorErrorCode = (typeof SimulatorErrorCode)[keyof typeof SimulatorErrorCode];

export class SimulatorError extends BaseError {
  override name = 'SimulatorError';
  declare readonly code: SimulatorErrorCode;

  constructor(code: SimulatorErrorCode, shortMessage: string, options: { cause?: unknown; details?: string } = {}) {
    super(code, shortMessage, options);
  }
}
