// Whether a sample is a failed probe, and the reason it gives.
import type { Sample, SampleError } from '../chains/sample.js';
import { RpcErrorCode } from '../errors/rpc-errors.js';
import { type Reason, ReasonCode, reasons } from './reasons.js';

/**
 * Whether a sample is a failed probe. A missing method is a capability of the node, not a
 * failure of it (viem#2540): RPC_METHOD_UNAVAILABLE alone never fails a sample; the health core
 * judges what the node did report instead.
 */
export function isFailedSample(sample: Sample): boolean {
  return !sample.ok && sample.error?.code !== RpcErrorCode.MethodUnavailable;
}

const SIMPLE: Readonly<Record<string, ReasonCode>> = {
  [RpcErrorCode.Timeout]: ReasonCode.RpcTimeout,
  [RpcErrorCode.ConnectionRefused]: ReasonCode.ConnectionRefused,
  [RpcErrorCode.ConnectionReset]: ReasonCode.ConnectionReset,
  [RpcErrorCode.Dns]: ReasonCode.DnsFailed,
  [RpcErrorCode.Tls]: ReasonCode.TlsFailed,
  [RpcErrorCode.Network]: ReasonCode.NetworkError,
  [RpcErrorCode.AuthFailed]: ReasonCode.AuthFailed,
  [RpcErrorCode.Forbidden]: ReasonCode.Forbidden,
  [RpcErrorCode.WarmingUp]: ReasonCode.WarmingUp,
  [RpcErrorCode.Malformed]: ReasonCode.MalformedResponse,
  [RpcErrorCode.TooLarge]: ReasonCode.ResponseTooLarge,
  [RpcErrorCode.BatchUnsupported]: ReasonCode.BatchUnsupported,
  [RpcErrorCode.WrongFamily]: ReasonCode.WrongFamily,
};

/**
 * The reason a failed probe gives (always `unhealthy`). RPC_WRONG_CHAIN is not mapped here: it
 * needs the chain to format ids (`chainMismatch`). Unknown codes keep their code in the text so
 * nothing is hidden: `probe_failed(RPC_SOMETHING_NEW)`.
 */
export function probeFailureReason(error: SampleError | undefined): Reason {
  if (error === undefined) return reasons.probeError(ReasonCode.ProbeFailed);
  const simple = SIMPLE[error.code];
  if (simple !== undefined) return reasons.probeError(simple);
  if (error.code === RpcErrorCode.HttpStatus) {
    const status = error.httpStatus;
    return status === undefined
      ? reasons.probeError(ReasonCode.HttpStatus)
      : reasons.probeError(ReasonCode.HttpStatus, String(status), { httpStatus: status });
  }
  if (error.code === RpcErrorCode.RpcError) {
    const code = error.rpcCode;
    return code === undefined
      ? reasons.probeError(ReasonCode.RpcError)
      : reasons.probeError(ReasonCode.RpcError, String(code), { rpcCode: code });
  }
  return reasons.probeError(ReasonCode.ProbeFailed, error.code, { errorCode: error.code });
}
