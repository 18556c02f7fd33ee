// PolicyError: a health policy that cannot work, naming its key.
import { BaseError } from '../errors/base-error.js';

/** A health policy that cannot work; `key` names the offending knob (`chains.bsc.failAfter`). */
export class HealthPolicyError extends BaseError {
  override name = 'HealthPolicyError';
  readonly key: string;

  constructor(key: string, problem: string) {
    super('HEALTH_POLICY_INVALID', `health policy: \`${key}\` ${problem}`);
    this.key = key;
  }
}
