import { readFileSync } from 'node:fs';
import { createStoreKeys, DEFAULT_PREFIX, describeStoreKeys, keySlot } from '../../src/store/keys.js';

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
      'route',
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
      if (d.pattern !== createStoreKeys('ns').eventsRoute) expect(d.pattern.startsWith('{ns}:')).toBe(true);
      expect(d.ttl.length).toBeGreaterThan(0);
      expect(d.purpose.length).toBeGreaterThan(0);
    }
  });

  it('hashes keys to the slots Redis Cluster does (its CLUSTER KEYSLOT documentation and CRC16/XMODEM check value)', () => {
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    // Only the first non-empty {...} counts; an empty one hashes the whole key.
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('a{}b')).not.toBe(keySlot(''));
    expect(keySlot('x{é}y')).toBe(keySlot('é'));
  });

  it('routes events through a slot half the slot space from the data, the same for every replica of a prefix', () => {
    for (const prefix of ['nodesentry', 'ns', 'a', 'fleet-eu/1', 'x'.repeat(100)]) {
      const k = createStoreKeys(prefix);
      const data = keySlot(k.tag);
      const route = keySlot(k.eventsRoute);
      const apart = Math.min(Math.abs(route - data), 16384 - Math.abs(route - data));
      // Even slot ranges over two or more masters put slots 8,192 apart on different masters.
      expect(apart).toBeGreaterThan(8192 - 64);
      expect(createStoreKeys(prefix).eventsRoute).toBe(k.eventsRoute);
      // Every data key hashes with the tag, never with the route.
      expect(keySlot(k.node('a'))).toBe(data);
      expect(k.eventsRoute).not.toContain(k.tag);
    }
    // The README's key table names the default prefix's route as computed.
    expect(readFileSync('README.md', 'utf8')).toContain(`\`${createStoreKeys().eventsRoute}\``);
  });
});
