import { createStoreKeys, DEFAULT_PREFIX, describeStoreKeys } from '../../src/store/keys.js';

describe('store keys', () => {
  it('builds every key from one prefix wrapped in one hash tag', () => {
    const k = createStoreKeys('ns');
    const all = [
      k.nodeIndex,
      k.node('a'),
      k.peers('a'),
      k.history('a'),
      k.transitions('a'),
      k.chain('bsc'),
      k.drains,
      k.audit,
      k.lease('a'),
      k.leaseDeadlines,
      k.replicas,
      k.events,
      k.probe,
    ];
    for (const key of all) expect(key.startsWith('{ns}:')).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    // A node id with braces cannot move a key to another slot: Redis hashes the first {...}.
    expect(k.node('{evil}').indexOf('{')).toBe(0);
    expect(createStoreKeys().tag).toBe(`{${DEFAULT_PREFIX}}`);
  });

  it('rejects prefixes that would break the hash tag or key patterns', () => {
    for (const bad of ['', 'a{b', 'a}b', 'with space', 'star*', 'x'.repeat(101)]) {
      expect(() => createStoreKeys(bad)).toThrow(TypeError);
    }
  });

  it('documents every key and the events channel', () => {
    const docs = describeStoreKeys('ns');
    expect(docs.map((d) => d.type).sort()).toEqual([
      'channel',
      'hash',
      'list',
      'list',
      'list',
      'list',
      'set',
      'string',
      'string',
      'string',
      'string',
      'string',
      'string',
      'string',
      'zset',
      'zset',
    ]);
    expect(docs.map((d) => d.pattern)).toContain('{ns}:rate:<bucket>:<window>');
    expect(docs.map((d) => d.pattern)).toContain('{ns}:transitions:<nodeId>');
    expect(docs.map((d) => d.pattern)).toContain('{ns}:fleet-transitions');
    for (const d of docs) {
      expect(d.pattern.startsWith('{ns}:')).toBe(true);
      expect(d.ttl.length).toBeGreaterThan(0);
      expect(d.purpose.length).toBeGreaterThan(0);
    }
  });
});
