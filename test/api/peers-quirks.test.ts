import request from 'supertest';
import { startHarness, type Harness } from '../support/api-harness.js';
import { sleep } from '../support/wait.js';

// Peer tables and traffic as the API serves them for Bitcoin-dialect nodes that differ from
// Core: pingtime -1 before the first pong, conntime as seconds since connecting, getnettotals
// that sums only the connected peers (and drops when one leaves, without a restart).

describe('GET /v1/nodes/:id/peers and /history for nodes that differ from Core', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        {
          id: 'odd',
          kind: 'defid',
          quirks: ['ping-unmeasured', 'conntime-duration'],
          peers: { inbound: 2, outbound: 3 },
        },
        { id: 'summing', kind: 'defid', quirks: ['nettotals-connected-only'], peers: { inbound: 4, outbound: 4 } },
      ],
      // The peer tables are read after one sweep: lists on the first probe, not phased.
      poller: { phasePeerDetails: false },
    });
    await h.sweep(1);
  });
  afterAll(() => h.close());

  it('when a node sends pingtime -1 and conntime as a duration, then pings are null (not -1000 ms) and connections are minutes or hours old, not decades', async () => {
    const r = await request(h.app).get('/v1/nodes/odd/peers').expect(200);
    expect(r.body.peers).toHaveLength(5);
    const nowS = Date.now() / 1000;
    for (const p of r.body.peers) {
      expect(p.pingMs).toBeNull();
      expect(p.minPingMs).toBeNull();
      expect(p.connTimeFrom).toBe('duration');
      expect(nowS - p.connTime).toBeGreaterThanOrEqual(59);
      expect(nowS - p.connTime).toBeLessThanOrEqual(6 * 3600 + 60);
    }
    expect(r.body.summary.pingMs).toBeNull();
  });

  it('when byte totals drop as a peer leaves while uptime grows, then the history shows a drop, no restart and no spike', async () => {
    await sleep(1_100);
    await h.sweep(1);
    h.sim.setPeers('summing', { inbound: 1, outbound: 1 });
    await sleep(1_100);
    await h.sweep(1);
    await sleep(1_100);
    await h.sweep(1);
    const r = await request(h.app).get('/v1/nodes/summing/history').expect(200);
    expect(r.body.points.length).toBeGreaterThanOrEqual(4);
    expect(r.body.points.every((p: { uptimeS: number | null }) => typeof p.uptimeS === 'number')).toBe(true);
    expect(r.body.rates).toMatchObject({ resets: 0, drops: 1 });
    const before = r.body.rates.series.filter((s: { drop: boolean }) => !s.drop);
    // The rate over the other intervals is what the peers exchanged, not the drop's size.
    for (const s of before) expect(s.recvBytesPerSec).toBeLessThan(8 * 5_000 * 2);
  });
});
