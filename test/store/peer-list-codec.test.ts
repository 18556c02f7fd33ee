// The stored peer list: v2, columnar (issue #17), read back exactly; v1 lists of older writers still read.
import fc from 'fast-check';
import type { PeerDetail } from '../../src/chains/sample.js';
import { decodePeers, encodePeers, PEERS_FORMAT_VERSION } from '../../src/store/store-codec.js';

/** A peer as a DeFiChain node reports it (the simulator's shape: every field, 11 message types). */
function realistic(i: number): PeerDetail {
  const sent = { addr: 131_954, getdata: 527_818, headers: 791_727, inv: 6_597_582, ping: 263_909 };
  return {
    id: i,
    addr: `203.0.113.${i}:8555`,
    inbound: i % 3 === 0,
    subver: i % 2 ? '/DeFiChain:4.1.7/' : '/DeFiChain:4.2.5/',
    version: 70038,
    pingTime: 0.026867 + i / 1000,
    minPing: 0.013861,
    startingHeight: 4_999_576 + i,
    syncedHeaders: 5_000_000,
    syncedBlocks: 5_000_000,
    bytesSent: 13_195_460 + i,
    bytesRecv: 11_986_635,
    connTime: 1_796_222_277 - i,
    connTimeFrom: 'epoch',
    bytesSentPerMsg: { ...sent, pong: 263_909, tx: 4_618_411, verack: 24, version: 126 },
    bytesRecvPerMsg: { ...sent, block: 3_595_990, cmpctblock: 1_198_663, pong: 239_732, tx: 3_595_990 },
  };
}

const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const msgName = fc.constantFrom('addr', 'block', 'inv', 'ping', 'tx', 'x-unknown', 'version', 'sendcmpct');
const peerArb: fc.Arbitrary<PeerDetail> = fc.record(
  {
    id: fc.nat(),
    addr: fc.string(),
    inbound: fc.boolean(),
    subver: fc.constantFrom('/Satoshi:28.0.0/', '/DeFiChain:4.2.5/', '', '/Turing:2.1.0/'),
    version: fc.integer(),
    pingTime: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
    minPing: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
    startingHeight: fc.integer({ min: -1 }),
    syncedHeaders: fc.integer({ min: -1 }),
    syncedBlocks: fc.integer({ min: -1 }),
    bytesSent: count,
    bytesRecv: count,
    connTime: count,
    connTimeFrom: fc.constantFrom('epoch' as const, 'duration' as const),
    bytesSentPerMsg: fc.dictionary(msgName, count),
    bytesRecvPerMsg: fc.dictionary(msgName, count),
  },
  { requiredKeys: ['id', 'addr', 'inbound'] },
);

describe('peer list codec', () => {
  it('when any list of peers is written, then it reads back exactly (fields absent stay absent, zeros stay zeros)', () => {
    fc.assert(
      fc.property(fc.array(peerArb, { maxLength: 20 }), (peers) => {
        const d = decodePeers(encodePeers(peers));
        expect(d.ok && d.value).toEqual({ peers, collectedAt: null });
      }),
      { numRuns: 300 },
    );
  });

  it('when a list is written with its collection time, then it reads back with it (ms, floored); a list written without one has none', () => {
    const peers = [realistic(1)];
    const d = decodePeers(encodePeers(peers, 1_796_305_136_417.6));
    expect(d.ok && d.value).toEqual({ peers, collectedAt: 1_796_305_136_417 });
    // A v2 list of a writer from before the field (no "at"), or an "at" that is no time: age unknown.
    const o = JSON.parse(encodePeers(peers, 1_796_305_136_417));
    expect(o.at).toBe(1_796_305_136_417);
    for (const at of [undefined, 'yesterday', -5, 1.5]) {
      const r = decodePeers(JSON.stringify({ ...o, at }));
      expect(r.ok && r.value.collectedAt).toBeNull();
    }
  });

  it('when a realistic list is written, then it takes under half the bytes of the v1 objects', () => {
    const peers = Array.from({ length: 18 }, (_, i) => realistic(i));
    const v1 = JSON.stringify({ v: 1, peers }).length;
    const v2 = encodePeers(peers).length;
    expect(v1 / peers.length).toBeGreaterThan(600);
    expect(v2).toBeLessThan(v1 / 2);
  });

  it('when an older writer stored a v1 list, then it still reads', () => {
    const peers = [realistic(1), { id: 2, addr: '198.51.100.2:8555', inbound: true }];
    const d = decodePeers(JSON.stringify({ v: 1, peers }));
    expect(d.ok && d.value).toEqual({ peers, collectedAt: null });
  });

  it('is versioned apart from v1, so a reader of v1 only skips it (as "unknown format version") instead of misreading rows', () => {
    const o = JSON.parse(encodePeers([realistic(1)]));
    expect(PEERS_FORMAT_VERSION).toBe(2);
    expect(o.v).toBe(2);
    // v1 readers required `peers` to be objects with id and addr: rows are arrays, never that.
    expect(Array.isArray(o.peers[0])).toBe(true);
  });

  it('when a v2 value is garbage, then it is refused with a reason, not read as peers', () => {
    const good = JSON.parse(encodePeers([realistic(1)]));
    const row = good.peers[0] as unknown[];
    const bad = [
      'not json',
      { ...good, fields: 'id' },
      { ...good, msgs: ['__proto__'] },
      { ...good, fields: good.fields.filter((f: string) => f !== 'addr') },
      { ...good, peers: [{ id: 1 }] },
      { ...good, peers: [['x', ...row.slice(1)]] },
      { ...good, peers: [[row[0], row[1], true, ...row.slice(3)]] },
      { ...good, peers: [[row[0], row[1], row[2], 99, ...row.slice(4)]] },
      { ...good, peers: [[...row.slice(0, 5), 'fast', ...row.slice(6)]] },
      { ...good, peers: [[...row.slice(0, 13), 2, ...row.slice(14)]] },
      { ...good, peers: [[...row.slice(0, 14), [-1]]] },
      { ...good, peers: [[...row.slice(0, 14), new Array(good.msgs.length + 1).fill(1)]] },
    ];
    for (const b of bad) {
      const d = decodePeers(typeof b === 'string' ? b : JSON.stringify(b));
      expect(d.ok).toBe(false);
    }
    // A column a newer writer adds is ignored by name; a missing optional column reads as absent.
    const extra = decodePeers(
      JSON.stringify({ ...good, fields: [...good.fields, 'future'], peers: [[...row, 'x'].slice(0, 17)] }),
    );
    expect(extra.ok).toBe(true);
  });
});
