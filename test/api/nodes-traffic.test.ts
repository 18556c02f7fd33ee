import fc from 'fast-check';
import { spread, summarizePeers, trafficRates } from '../../src/api/traffic.js';
import type { PeerDetail } from '../../src/chains/sample.js';
import type { HistoryPoint } from '../../src/store/store.js';

const point = (t: number, bytesRecv?: number, bytesSent?: number): HistoryPoint => ({
  t,
  ok: true,
  latencyMs: 5,
  ...(bytesRecv !== undefined ? { bytesRecv } : {}),
  ...(bytesSent !== undefined ? { bytesSent } : {}),
});

describe('trafficRates', () => {
  it('when counters grow steadily, then the rate is bytes over seconds, whatever the input order', () => {
    const r = trafficRates([point(3_000, 3_000, 600), point(1_000, 1_000, 200), point(2_000, 2_000, 400)]);
    expect(r).toMatchObject({
      recvBytesPerSec: 1_000,
      sentBytesPerSec: 200,
      from: 1_000,
      to: 3_000,
      windowMs: 2_000,
      points: 3,
      resets: 0,
    });
    expect(r!.series.map((s) => s.t)).toEqual([3_000, 2_000]);
  });

  it('when a counter goes down (node restart), then the new value counts as the increase, never a negative rate', () => {
    // 1000 B/s, restart between t=2s and t=3s; after it the node counted 500 B.
    const r = trafficRates([
      point(1_000, 10_000, 10_000),
      point(2_000, 11_000, 11_000),
      point(3_000, 500, 500),
      point(4_000, 1_500, 1_500),
    ]);
    expect(r!.resets).toBe(1);
    expect(r!.recvBytesPerSec).toBe(Math.round(((1_000 + 500 + 1_000) * 1000) / 3_000));
    expect(r!.series.find((s) => s.t === 3_000)).toMatchObject({ reset: true, recvBytesPerSec: 500 });
  });

  it('when a counter goes down while uptime keeps growing, then it is a drop (not a restart): the interval is left out, no spike', () => {
    const up = (p: HistoryPoint, uptimeS: number): HistoryPoint => ({ ...p, uptimeS });
    const r = trafficRates([
      up(point(1_000, 10_000, 10_000), 100),
      up(point(2_000, 11_000, 11_000), 101),
      up(point(3_000, 4_000, 4_000), 102),
      up(point(4_000, 5_000, 5_000), 103),
    ]);
    expect(r).toMatchObject({ resets: 0, drops: 1, windowMs: 2_000, recvBytesPerSec: 1_000 });
    expect(r!.series.find((s) => s.t === 3_000)).toMatchObject({ drop: true, reset: false, recvBytesPerSec: 0 });
    // Uptime that went back is a restart, as without uptime.
    const restart = trafficRates([up(point(1_000, 10_000, 10_000), 100), up(point(2_000, 500, 500), 1)]);
    expect(restart).toMatchObject({ resets: 1, drops: 0 });
  });

  it('when fewer than two points carry totals, or they share a timestamp, then there is no rate', () => {
    expect(trafficRates([])).toBeNull();
    expect(trafficRates([point(1_000), point(2_000)])).toBeNull();
    expect(trafficRates([point(1_000, 5, 5), point(2_000)])).toBeNull();
    expect(trafficRates([point(1_000, 5, 5), point(1_000, 9, 9)])).toBeNull();
  });

  it('for any history, rates are finite and never negative', () => {
    const arb = fc.array(
      fc.record({
        t: fc.integer({ min: 0, max: 1e9 }),
        r: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        s: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, (pts) => {
        const r = trafficRates(pts.map((p) => point(p.t, p.r, p.s)));
        if (r === null) return;
        expect(r.recvBytesPerSec).toBeGreaterThanOrEqual(0);
        expect(r.sentBytesPerSec).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(r.recvBytesPerSec) && Number.isFinite(r.sentBytesPerSec)).toBe(true);
        for (const s of r.series) expect(s.recvBytesPerSec).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('summarizePeers', () => {
  const peer = (id: number, over: Partial<PeerDetail>): PeerDetail => ({
    id,
    addr: `198.51.100.${id}:8555`,
    inbound: false,
    ...over,
  });

  it('counts directions and versions, spreads pings in ms, finds who is ahead, sums bytes per message', () => {
    const s = summarizePeers(
      [
        peer(1, {
          inbound: true,
          subver: '/DeFiChain:4.2.5/',
          pingTime: 0.1,
          syncedHeaders: 105,
          syncedBlocks: 104,
          bytesRecvPerMsg: { block: 100, inv: 5 },
          bytesRecv: 105,
        }),
        peer(2, {
          subver: '/DeFiChain:4.2.5/',
          pingTime: 0.3,
          syncedHeaders: -1,
          syncedBlocks: -1,
          bytesRecvPerMsg: { inv: 7, __proto__x: 1 },
        }),
        peer(3, { subver: '/DeFiChain:4.1.0/', syncedHeaders: 99 }),
      ],
      100,
    );
    expect(s).toMatchObject({ total: 3, inbound: 1, outbound: 2, bytes: { recv: 105, sent: 0 } });
    expect(s.versions).toEqual([
      { subver: '/DeFiChain:4.2.5/', count: 2 },
      { subver: '/DeFiChain:4.1.0/', count: 1 },
    ]);
    expect(s.pingMs).toMatchObject({ count: 2, min: 100, max: 300 });
    expect(s.heights).toEqual({ maxSyncedBlocks: 104, maxSyncedHeaders: 105, peersAhead: 1 });
    expect(Object.entries(s.bytesPerMessage.recv)).toEqual([
      ['block', 100],
      ['inv', 12],
      ['__proto__x', 1],
    ]);
  });

  it('keeps a message type called __proto__ as plain data', () => {
    const hostile = JSON.parse('{"__proto__": 5, "ping": 1}') as Record<string, number>;
    const s = summarizePeers([peer(1, { bytesSentPerMsg: hostile })], undefined);
    expect(Object.keys(s.bytesPerMessage.sent)).toEqual(['__proto__', 'ping']);
    expect(JSON.parse(JSON.stringify(s.bytesPerMessage.sent))).toEqual(hostile);
    expect(s.heights.peersAhead).toBeNull();
  });

  it('spread of nothing is null', () => {
    expect(spread([])).toBeNull();
    expect(spread([3, 1, 2])).toMatchObject({ min: 1, median: 2, max: 3, mean: 2 });
  });
});
