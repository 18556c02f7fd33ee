import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Command, Redis } from 'ioredis';
import { LuaScript } from '../../src/store/lua-script.js';
import { packCommand, PackedCommand } from '../../src/store/packed-command.js';

// The shared redis-server of the whole run (test/support/global-setup.js).
const url = process.env.REDIS_URL!;

/** The bytes ioredis itself puts on the socket for a command (a string is written as UTF-8). */
function ioredisBytes(name: string, args: ReadonlyArray<string | number | Buffer>): Buffer {
  const w = new Command(name, [...args]).toWritable(undefined as never);
  return typeof w === 'string' ? Buffer.from(w, 'utf8') : w;
}

// Strings of every kind a record or a node id can hold: ASCII, other BMP characters, astral
// pairs and lone surrogates (which UTF-8 writes as U+FFFD, in ioredis's path as in this one).
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '\ud800', 'a\udc00b', 'é'.repeat(70_000)),
);
const arg = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.uint8Array().map((a) => Buffer.from(a)),
);

describe('packCommand', () => {
  it('writes the bytes ioredis would for the same command', () => {
    fc.assert(
      fc.property(fc.constantFrom('evalsha', 'eval', 'set'), fc.array(arg, { maxLength: 40 }), (name, args) => {
        expect(packCommand(name, args).equals(ioredisBytes(name, args))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('sizes lengths of every digit count', () => {
    for (const n of [0, 1, 9, 10, 99, 100, 999, 1000, 65_535, 100_000]) {
      const args = ['x'.repeat(n), 'é'.repeat(n)];
      expect(packCommand('set', args).equals(ioredisBytes('set', args))).toBe(true);
    }
  });
});

describe('PackedCommand against a real Redis', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client.quit();
  });

  it('a script gets every key and argument as sent, through EVAL (unknown to the server) and then EVALSHA', async () => {
    // A source of its own: never loaded, so the first run meets NOSCRIPT and falls back to EVAL.
    const echo = new LuaScript('echo', `-- ${randomUUID()}\nreturn { KEYS[1], unpack(ARGV) }`);
    const key = `test-packed-${process.pid}`;
    const args = ['plain', '', 'Grüße, 世界', '😀', 42, 1.5, '{"v":1,"observedAt":1796186302361}'];
    expect(await client.script('EXISTS', echo.sha)).toEqual([0]);
    const viaEval = await echo.run(client, [key], args);
    const viaSha = await echo.run(client, [key], args);
    const expected = [key, ...args.map(String)];
    expect(viaEval).toEqual(expected);
    expect(viaSha).toEqual(expected);
    expect(await client.script('EXISTS', echo.sha)).toEqual([1]);
  });

  it('a Buffer argument is stored byte for byte', async () => {
    const key = `test-packed-buffer-${process.pid}`;
    const bytes = Buffer.from([0, 255, 13, 10, 36, 42, 128]);
    await client.sendCommand(new PackedCommand('set', [key, bytes, 'PX', 60_000]));
    expect((await client.getBuffer(key))!.equals(bytes)).toBe(true);
    await client.del(key);
  });
});
