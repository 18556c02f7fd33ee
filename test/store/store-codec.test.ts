// The codec checks the health core's persisted shapes once, on the way in: readers get them typed or null.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  applyRecordChange,
  decodeChainFacts,
  decodeFeedEvent,
  decodeRecord,
  encodeChainFacts,
  encodeRecord,
  encodeRecordEntry,
  encodeRecordsEvent,
  keyIndex,
  sameStamp,
} from '../../src/store/store-codec.js';
import type { NodeRecord } from '../../src/store/store.js';
import { asRead, nextRecord, STEADY_RECORD, stepArb } from './record-steps.js';
import { record, report, verdict } from './store-contract.js';

describe('store codec: the persisted health shapes', () => {
  it('when a record carries a verdict, then it decodes to the same verdict', () => {
    const r = record('a', { health: verdict({ probing: { mode: 'interval', delayMs: 2_000, nextProbeAt: 5 } }) });
    const d = decodeRecord(encodeRecord(r));
    expect(d.ok && d.value.health).toEqual(r.health);
  });

  it('when a record holds something that is not a verdict, then the record is kept and its health is null', () => {
    const json = JSON.parse(encodeRecord(record('a')));
    for (const health of [
      null,
      'healthy',
      { state: 'healthy' },
      { health: { state: 3 }, stats: {}, score: {} },
      { health: { state: 'healthy' }, score: {} },
    ]) {
      const d = decodeRecord(JSON.stringify({ ...json, health }));
      expect(d.ok).toBe(true);
      expect(d.ok && d.value.sample).toEqual(record('a').sample);
      expect(d.ok && d.value.health).toBeNull();
    }
  });

  it('when chain facts hold a report, then it decodes; anything else decodes to null facts', () => {
    const facts = { chain: 'bsc', facts: report('bsc'), replica: 'r', writtenAt: 1 };
    const d = decodeChainFacts(encodeChainFacts(facts));
    expect(d.ok && d.value).toEqual(facts);
    for (const bad of [{}, { chain: 'bsc', selection: {} }, { head: 1 }]) {
      const b = decodeChainFacts(JSON.stringify({ v: 1, chain: 'bsc', facts: bad, replica: 'r', writtenAt: 1 }));
      expect(b.ok && b.value.facts).toBeNull();
    }
  });
});

describe('store codec: compact record changes (format 2)', () => {
  const apply = (_base: NodeRecord, entry: string, from: string | undefined) => {
    const d = decodeFeedEvent(encodeRecordsEvent([entry], from));
    if (!d.ok) throw new Error(d.reason);
    return d.value;
  };

  it('when a poller writes random steady and unsteady records one after another, then each compact change rebuilds exactly the record written', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 12 }), (steps) => {
        let sent = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
        let held = asRead(sent);
        for (const step of steps) {
          const next = nextRecord(sent, step, 'w1');
          const json = encodeRecord(next);
          const entry = encodeRecordEntry(next, json, sent, 'w1');
          const { event, changes } = apply(held, entry, 'w1');
          let got: NodeRecord;
          if (changes.length === 0) got = (event.type === 'records' ? event.records[0] : undefined)!;
          else {
            const c = changes[0]!;
            expect(sameStamp(held, c.base)).toBe(true);
            const d = applyRecordChange(held, c);
            if (!d.ok) throw new Error(d.reason);
            got = d.value;
          }
          expect(got).toEqual(asRead(next));
          sent = next;
          held = got;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('when the new record keeps numbers equal to the base observedAt (as a value, or in an object it shares with the base), then the change undoes the prediction and rebuilds exactly', () => {
    fc.assert(
      fc.property(stepArb, fc.boolean(), (step, share) => {
        const base = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
        const from = base.sample.observedAt;
        const pinned = { at: from, list: [from, 1], nested: { since: from } };
        const stats = { ...(base.health!.stats as unknown as Record<string, unknown>), pinnedAt: from, pinned };
        const sent = { ...base, health: { ...base.health!, stats } } as unknown as NodeRecord;
        const next = nextRecord(sent, step, 'w1') as unknown as { health: { stats: Record<string, unknown> } };
        next.health.stats['pinnedAt'] = from;
        next.health.stats['pinned'] = share ? pinned : structuredClone(pinned);
        const rec = next as unknown as NodeRecord;
        const { changes, event } = apply(sent, encodeRecordEntry(rec, encodeRecord(rec), sent, 'w1'), 'w1');
        const got =
          changes.length === 0
            ? event.type === 'records' && event.records[0]
            : (() => {
                const d = applyRecordChange(asRead(sent), changes[0]!);
                if (!d.ok) throw new Error(d.reason);
                return d.value;
              })();
        expect(got).toEqual(asRead(rec));
      }),
      { numRuns: 100 },
    );
  });

  it('when an object holds any keys (unicode, digits, undefined values), then keyIndex orders them as sort() does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.option(fc.integer(), { nil: undefined })), (o) => {
        const expected = Object.keys(o)
          .filter((k) => o[k] !== undefined)
          .sort();
        expect(keyIndex(o)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('when the writer encodes a seeded sequence of changes, then its entries are byte for byte what the format-2 receivers of main 321f272 were given', () => {
    // fixtures/compact-entries.json: written by encodeRecordEntry at 321f272 (shifted copy, then diff);
    // the writer now diffs against the base shifted on the fly, and must not change a byte.
    const golden = JSON.parse(
      readFileSync(new URL('./fixtures/compact-entries.json', import.meta.url), 'utf8'),
    ) as string[];
    const steps = fc.sample(stepArb, { numRuns: golden.length, seed: 42 });
    let sent = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
    const got: string[] = [];
    for (const step of steps) {
      const next = nextRecord(sent, step, 'w1');
      got.push(encodeRecordEntry(next, encodeRecord(next), sent, 'w1'));
      sent = next;
    }
    expect(got.filter((e) => e.includes('"f":2')).length).toBeGreaterThan(10);
    expect(got).toEqual(golden);
  });

  it('when a steady probe changes only timings and counters, then its change is a fraction of the format-1 change', () => {
    const base = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
    const steady = { dt: 5_000, latencyMs: 12.5, heightUp: 1, outcome: true, slideFront: false, delayMs: 5_000 };
    const next = nextRecord(
      base,
      { ...steady, keepOldStamp: false, writtenLag: 0, toggleError: false, state: undefined, reorderKeys: false },
      'w1',
    );
    const json = encodeRecord(next);
    const v1 = encodeRecordEntry(next, json, base);
    const v2 = encodeRecordEntry(next, json, base, 'w1');
    expect(v2).toContain('"f":2');
    expect(v1).not.toContain('"f":');
    expect(v2.length).toBeLessThan(v1.length / 2);
  });

  it('when a receiver of format 1 (no `f`) meets a compact change, then it never holds the base it names, so it reads the record whole', () => {
    const base = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
    const step = fc.sample(stepArb, { numRuns: 1, seed: 7 })[0]!;
    const next = nextRecord(base, step, 'w1');
    const entry = JSON.parse(encodeRecordEntry(next, encodeRecord(next), base, 'w1')) as Record<string, unknown>;
    expect(entry['f']).toBe(2);
    // What a format-1 receiver reads: c 1, a base stamp, a patch; its writer is the empty replica.
    expect(entry['c']).toBe(1);
    const stamp = entry['base'] as [number, number, string];
    expect(stamp[2]).toBe('');
    expect(sameStamp(asRead(base), stamp)).toBe(false);
  });

  it('when a change names a format this receiver does not know, or no writer, then it is never applied', () => {
    const base = { ...STEADY_RECORD, replica: 'w1' } as NodeRecord;
    const next = nextRecord(base, fc.sample(stepArb, { numRuns: 1, seed: 3 })[0]!, 'w1');
    const entry = encodeRecordEntry(next, encodeRecord(next), base, 'w1');
    const future = apply(base, entry.replace('"f":2', '"f":3'), 'w1').changes[0]!;
    expect(future.format).toBe('unknown');
    expect(sameStamp(asRead(base), future.base)).toBe(false);
    expect(applyRecordChange(asRead(base), future).ok).toBe(false);
    const anonymous = apply(base, entry, undefined).changes[0]!;
    expect(anonymous.format).toBe('unknown');
  });

  it('when a compact patch does not fit the record (a place past its keys, a slide longer than its array), then applying it fails instead of guessing', () => {
    const base = asRead({ ...STEADY_RECORD, replica: 'w1' } as NodeRecord);
    const at = Math.floor(base.sample.observedAt);
    for (const patch of [
      '{"$99":1}',
      '{"$99999999999999999999":1}',
      '{"$00000000000000001":1}',
      '{"$3":{"$2":{"$ap":[999,true]}}}',
      '{"$t":{"$99":5}}',
      '{"$t":{"writtenAt":"x"}}',
    ]) {
      const raw = `{"c":1,"f":2,"observedAt":${at},"nodeId":${JSON.stringify(base.nodeId)},"base":[0,${base.writtenAt - at},""],"patch":${patch}}`;
      const c = apply(base, raw, 'w1').changes[0]!;
      expect(sameStamp(base, c.base)).toBe(true);
      expect(applyRecordChange(base, c).ok).toBe(false);
    }
  });
});
