import { RpcErrorCode } from '../../src/errors/rpc-errors.js';
import { probeFailureReason } from '../../src/health/probe-failure.js';
import { ReasonCode, formatDuration, reasons, worstSeverity } from '../../src/health/reasons.js';

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [5_250, '5.3s'],
    [9_000, '9s'],
    [41_000, '41s'],
    [119_400, '119s'],
    [20 * 60_000, '20m'],
    [119 * 60_000, '119m'],
    [5 * 3_600_000, '5h'],
    [3 * 86_400_000, '3d'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('reason texts (stable formats for people; codes for machines)', () => {
  it.each([
    [reasons.peersBelowMin(3, 8), 'peers_below_min', 'peers_below_min(3<8)', 'unhealthy'],
    [reasons.peersLow(5, 13), 'peers_low', 'peers_low(5<13)', 'degraded'],
    [reasons.lagging(12, 9_000, 'degraded'), 'lagging', 'lagging(12 blocks, 9s)', 'degraded'],
    [reasons.lagging(3, 1_800_000, 'unhealthy'), 'lagging', 'lagging(3 blocks, 30m)', 'unhealthy'],
    [reasons.syncing([], {}), 'syncing', 'syncing', 'unhealthy'],
    [
      reasons.syncing(['1200 headers ahead', 'tip 3d old'], {}),
      'syncing',
      'syncing(1200 headers ahead, tip 3d old)',
      'unhealthy',
    ],
    [reasons.syncingAtHead(0), 'syncing_at_head', 'syncing_at_head(0 blocks left)', 'degraded'],
    [reasons.wrongChain('0x61', '0x38'), 'wrong_chain', 'wrong_chain(0x61!=0x38)', 'unhealthy'],
    [reasons.networkInactive(), 'network_inactive', 'network_inactive', 'unhealthy'],
    [reasons.staleSample(41_000), 'stale_sample', 'stale_sample(41s)', 'unhealthy'],
    [reasons.noSample(), 'no_sample', 'no_sample', 'unhealthy'],
    [reasons.confirming(1, 2), 'confirming', 'confirming(1/2)', 'unhealthy'],
    [reasons.drained(), 'drained', 'drained', 'unhealthy'],
    [reasons.stalled(100, 45_000), 'stalled', 'stalled(no new block in 45s)', 'degraded'],
    [reasons.noOutboundPeers(12), 'no_outbound_peers', 'no_outbound_peers(12 inbound)', 'degraded'],
    [reasons.slow(1_834.6), 'slow', 'slow(1835ms)', 'degraded'],
    [reasons.errorRate(0.3, 20, 'degraded'), 'error_rate', 'error_rate(30% of 20)', 'degraded'],
    [reasons.heightUnknown(), 'height_unknown', 'height_unknown', 'unhealthy'],
  ])('%#: %s', (r, code, text, severity) => {
    expect(r).toMatchObject({ code, text, severity });
  });

  it('keeps the numbers as data too', () => {
    expect(reasons.lagging(12, 9_000, 'degraded').data).toEqual({ blocks: 12, ms: 9_000 });
    expect(reasons.peersBelowMin(3, 8).data).toEqual({ peers: 3, minPeers: 8 });
  });

  it('every code is stable snake_case', () => {
    for (const code of Object.values(ReasonCode)) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });
});

describe('probe errors -> reasons', () => {
  const err = (code: string, extra: object = {}) => ({ code, message: 'x', transient: true, ...extra });
  it.each([
    [err(RpcErrorCode.Timeout), 'rpc_timeout'],
    [err(RpcErrorCode.ConnectionRefused), 'connection_refused'],
    [err(RpcErrorCode.ConnectionReset), 'connection_reset'],
    [err(RpcErrorCode.Dns), 'dns_failed'],
    [err(RpcErrorCode.Tls), 'tls_failed'],
    [err(RpcErrorCode.Network), 'network_error'],
    [err(RpcErrorCode.HttpStatus, { httpStatus: 502 }), 'http_status(502)'],
    [err(RpcErrorCode.HttpStatus), 'http_status'],
    [err(RpcErrorCode.AuthFailed, { httpStatus: 401 }), 'auth_failed'],
    [err(RpcErrorCode.Forbidden, { httpStatus: 403 }), 'forbidden'],
    [err(RpcErrorCode.RpcError, { rpcCode: -32603 }), 'rpc_error(-32603)'],
    [err(RpcErrorCode.WarmingUp, { rpcCode: -28 }), 'warming_up'],
    [err(RpcErrorCode.Malformed), 'malformed_response'],
    [err(RpcErrorCode.TooLarge), 'response_too_large'],
    [err(RpcErrorCode.BatchUnsupported), 'batch_unsupported'],
    [err('RPC_SOMETHING_NEW'), 'probe_failed(RPC_SOMETHING_NEW)'],
    [undefined, 'probe_failed'],
  ])('%j -> %s', (error, text) => {
    const r = probeFailureReason(error);
    expect(r.text).toBe(text);
    expect(r.severity).toBe('unhealthy');
  });
});

describe('worstSeverity', () => {
  it.each([
    [[], 'healthy'],
    [[reasons.peersLow(1, 2)], 'degraded'],
    [[reasons.peersLow(1, 2), reasons.networkInactive()], 'unhealthy'],
  ] as const)('%#', (list, expected) => {
    expect(worstSeverity(list)).toBe(expected);
  });
});
