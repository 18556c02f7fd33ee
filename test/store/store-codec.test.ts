// The codec checks the health core's persisted shapes once, on the way in: readers get them typed or null.
import { decodeChainFacts, decodeRecord, encodeChainFacts, encodeRecord } from '../../src/store/store-codec.js';
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
