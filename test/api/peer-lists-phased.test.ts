import request from 'supertest';
import { PeerReport } from '../../src/api/schemas/nodes.js';
import { peerListPhaseMs } from '../../src/chains/node-prober.js';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { startHarness, type Harness } from '../support/api-harness.js';

// Issue #17: the cold sweep reads getpeerinfo for the inbound / outbound split but builds and
// stores no peer lists; each node's first list is due within the first minute, phased by a
// stable hash of its id, and at once when its peer count changes. The clock is the test's.

const EVERY_MS = 60_000;

/** A node's peers answer, checked against its schema. */
async function peersOf(h: Harness, id: string) {
  const r = await request(h.app).get(`/v1/nodes/${id}/peers`).expect(200);
  PeerReport.parse(r.body);
  return r.body;
}

/** Two ids whose first lists fall in each third of the minute (none on the first probe). */
function idsByThird(): string[][] {
  const thirds: string[][] = [[], [], []];
  for (let i = 0; thirds.some((t) => t.length < 2); i++) {
    const id = `dfi-${i}`;
    const phase = peerListPhaseMs(id, EVERY_MS);
    const third = Math.floor(phase / (EVERY_MS / 3));
    if (phase >= 1_000 && thirds[third]!.length < 2) thirds[third]!.push(id);
  }
  return thirds;
}

describe('peer lists after start: phased by node id over the first minute', () => {
  const thirds = idsByThird();
  const ids = thirds.flat();
  const late = thirds[2]![0]!;
  let clock = Date.now();
  let h: Harness;
  beforeAll(async () => {
    const specs: SimNodeSpec[] = ids.map((id, i) => ({ id, kind: 'defid', peers: { inbound: 1 + i, outbound: 4 } }));
    h = await startHarness({ specs, poller: { now: () => clock }, now: () => clock });
  });
  afterAll(() => h.close());

  const peers = (id: string) => peersOf(h, id);

  it('when the cold sweep has run, then getpeerinfo was read for the split but no list was built or stored, and the API says "not collected yet"', async () => {
    await h.sweep(1);
    for (const [i, id] of ids.entries()) {
      expect(h.sim.stats(id).calls.getpeerinfo).toBe(1);
      expect(await h.service.store.getPeers(id)).toBeUndefined();
      const b = await peers(id);
      expect(b).toMatchObject({
        source: 'getpeerinfo',
        list: 'not_collected_yet',
        peers: null,
        summary: null,
        total: 5 + i,
        reported: { total: 5 + i, inbound: 1 + i, outbound: 4 },
      });
      expect(b.detail).toMatch(/^not collected yet/);
    }
    // The judge has the split of every node (no_outbound_peers needs it).
    for (const [i, id] of ids.entries()) expect(h.service.view.get(id)?.sample.peers?.inbound).toBe(1 + i);
  });

  it('as the minute passes, then each node gets its first list at its own phase, and all have one by its end', async () => {
    const start = clock;
    for (const [third, due] of thirds.entries()) {
      clock = start + ((third + 1) * EVERY_MS) / 3;
      await h.sweep(1);
      for (const [t, group] of thirds.entries()) {
        for (const id of group) {
          const b = await peers(id);
          if (t <= third) {
            expect(b.list).toBe('collected');
            expect(b.peers).toHaveLength(5 + ids.indexOf(id));
          } else {
            expect(b.list).toBe('not_collected_yet');
          }
        }
      }
      // The nodes of this third had their list built in this sweep: getpeerinfo asked twice in all.
      for (const id of due) expect(h.sim.stats(id).calls.getpeerinfo).toBe(2);
    }
  });

  it('when a node that has its list changes its peer count, then the list is due at once, not a minute later', async () => {
    const before = h.sim.stats(late).calls.getpeerinfo ?? 0;
    h.sim.setPeers(late, { inbound: 9, outbound: 4 });
    // A second later each time (the view keeps a record only when it is newer than the one it has).
    clock += 1_000;
    await h.sweep(1);
    // The new total without a split (it would be the old one), then the list at the next probe.
    expect((await peers(late)).reported).toMatchObject({ total: 13, inbound: null, outbound: null });
    clock += 1_000;
    await h.sweep(1);
    const b = await peers(late);
    expect(b).toMatchObject({ list: 'collected', total: 13, reported: { total: 13, inbound: 9, outbound: 4 } });
    expect(b.peers).toHaveLength(13);
    expect(h.sim.stats(late).calls.getpeerinfo).toBe(before + 1);
  });
});

describe('the peers of a node whose probes fail', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [{ id: 'dfi-down', kind: 'defid', fault: { type: 'reset' } }],
      mapNodes: (ns) => ns.map((n) => ({ ...n, timeoutMs: 300 })),
    });
    await h.sweep(1);
  });
  afterAll(() => h.close());

  it('when its probes fail, then the answer says no list is stored because of that, not "not collected yet"', async () => {
    const r = await request(h.app).get('/v1/nodes/dfi-down/peers').expect(200);
    PeerReport.parse(r.body);
    expect(r.body).toMatchObject({ list: 'unavailable', peers: null });
    expect(r.body.detail).toMatch(/last probes failed/);
  });
});

describe('the peers of a node that answers but whose getpeerinfo fails', () => {
  let clock = Date.now();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'dfi-nolist', kind: 'defid', fault: { type: 'method-error', methods: ['getpeerinfo'], code: -1 } },
        { id: 'dfi-list', kind: 'defid' },
      ],
      poller: { now: () => clock },
      now: () => clock,
    });
  });
  afterAll(() => h.close());

  const peers = (id: string) => peersOf(h, id);

  it('within its first minute, then its list is "not collected yet"; past it, "unavailable" with why, while a healthy neighbour has its list', async () => {
    await h.sweep(3);
    const first = await peers('dfi-nolist');
    expect(h.service.view.get('dfi-nolist')?.sample.ok).toBe(true);
    expect(first).toMatchObject({ list: 'not_collected_yet', peers: null });
    // The minute and two intervals pass with the node answering (a sweep every 10 s).
    for (let t = 0; t < 8; t++) {
      clock += 10_000;
      await h.sweep(1);
    }
    expect(h.sim.stats('dfi-nolist').calls.getpeerinfo).toBeGreaterThanOrEqual(2);
    expect(h.service.view.get('dfi-nolist')?.sample.ok).toBe(true);
    const later = await peers('dfi-nolist');
    expect(later).toMatchObject({ list: 'unavailable', peers: null, summary: null });
    expect(later.detail).toMatch(/the node answers, but none of its getpeerinfo answers/);
    expect(later.reported?.total).toBeGreaterThan(0);
    expect((await peers('dfi-list')).list).toBe('collected');
  });
});

describe('the peers of a node whose getpeerinfo starts failing after its list was collected', () => {
  let clock = Date.now();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [{ id: 'dfi-flaky', kind: 'defid', peers: { inbound: 2, outbound: 5 } }],
      poller: { now: () => clock, phasePeerDetails: false },
      now: () => clock,
    });
  });
  afterAll(() => h.close());

  it('while its list is due, then it is "collected" with when; once a refresh is missed, "stale" with its age, never current', async () => {
    await h.sweep(3);
    const fresh = await peersOf(h, 'dfi-flaky');
    expect(fresh).toMatchObject({ list: 'collected', total: 7 });
    expect(fresh.peers).toHaveLength(7);
    const collectedAt = fresh.collectedAt as number;
    expect(collectedAt).toBeGreaterThan(clock - 10_000);
    expect(collectedAt).toBeLessThanOrEqual(clock);
    await h.sim.setFault('dfi-flaky', { type: 'method-error', methods: ['getpeerinfo'], code: -1 });
    // Half a minute on, the node answering (getpeerinfo failing): the list is not due yet.
    for (let t = 0; t < 3; t++) {
      clock += 10_000;
      await h.sweep(1);
    }
    expect(await peersOf(h, 'dfi-flaky')).toMatchObject({ list: 'collected', collectedAt });
    // Past the minute and two intervals, no refresh came: the same list, said to be stale.
    for (let t = 0; t < 5; t++) {
      clock += 10_000;
      await h.sweep(1);
    }
    expect(h.service.view.get('dfi-flaky')?.sample.ok).toBe(true);
    const stale = await peersOf(h, 'dfi-flaky');
    expect(stale).toMatchObject({ list: 'stale', collectedAt, total: 7, reported: { total: 7 } });
    expect(stale.peers).toHaveLength(7);
    const age = Math.round((clock - collectedAt) / 1000);
    expect(stale.detail).toBe(
      `stale: the last list, collected ${age} s ago; lists are rebuilt every 60 s, and none of this node's probes since gave one (its getpeerinfo fails or answers something invalid, or the node does not answer); the counts in \`reported\` are from its latest probe`,
    );
    // It answers getpeerinfo again: the next probe rebuilds the list (it was due), current again.
    await h.sim.setFault('dfi-flaky', { type: 'none' });
    clock += 1_000;
    await h.sweep(1);
    const back = await peersOf(h, 'dfi-flaky');
    expect(back.list).toBe('collected');
    expect(back.collectedAt).toBeGreaterThan(collectedAt);
  });
});
