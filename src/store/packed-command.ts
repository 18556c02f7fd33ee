// A Redis command whose wire form (RESP) is written into one Buffer, for the sweep's large script calls.
import { Command } from 'ioredis';

/**
 * ioredis writes a command of string arguments as one string grown by `+=` per argument (a rope
 * of three pieces per argument), which the socket then flattens into a second copy before
 * encoding it: a sweep batch's script call carries ~800 arguments and ~330 KB (every record of
 * the batch whole), so that was ~6.5 KB of heap garbage per record written, the largest share of
 * the write path's (and the flattened copy, over 128 KB, a large object of V8's heap each time).
 * Here the arguments' bytes are written once into one Buffer sized in advance, which the socket
 * takes as it is: 16.5 -> 12.1 KB allocated per record written (bench/write-alloc.mjs), and the
 * call built and encoded in about half the CPU (bench/pack-micro.mjs: 6.4-8.3 -> 3.1-4.6 µs per
 * record). Issue #17.
 *
 * Everything else is ioredis's own: key slots (cluster routing reads `args`, left as given),
 * the offline queue, redirections (they call toWritable again), reply decoding.
 */
export class PackedCommand extends Command {
  override toWritable(): Buffer {
    return packCommand(this.name, this.args as readonly unknown[]);
  }
}

const CRLF_LENGTH = 2;

/** Digits of a non-negative integer, for the `$<length>` prefixes. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * `*<n>\r\n` then `$<bytes>\r\n<arg>\r\n` for the name and each argument: what ioredis's
 * toWritable sends for string, number and Buffer arguments alike.
 */
export function packCommand(name: string, args: readonly unknown[]): Buffer {
  const n = args.length;
  const values: Array<string | Buffer> = new Array<string | Buffer>(n);
  const lengths = new Array<number>(n);
  const nameLength = Buffer.byteLength(name);
  let total = 1 + digits(n + 1) + CRLF_LENGTH + 1 + digits(nameLength) + CRLF_LENGTH + nameLength + CRLF_LENGTH;
  for (let i = 0; i < n; i++) {
    const a = args[i];
    const v = a instanceof Buffer ? a : typeof a === 'string' ? a : String(a);
    const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
    values[i] = v;
    lengths[i] = len;
    total += 1 + digits(len) + CRLF_LENGTH + len + CRLF_LENGTH;
  }
  const buf = Buffer.allocUnsafe(total);
  let o = buf.write(`*${n + 1}\r\n$${nameLength}\r\n`, 0, 'latin1');
  o += buf.write(name, o, 'utf8');
  o = crlf(buf, o);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const len = lengths[i]!;
    o = lengthLine(buf, o, len);
    // As many bytes as UTF-16 units: every unit is ASCII, and latin1 copies them as they are.
    if (typeof v !== 'string') o += v.copy(buf, o);
    else o += buf.write(v, o, len === v.length ? 'latin1' : 'utf8');
    o = crlf(buf, o);
  }
  if (o !== total) throw new Error(`packed command is ${o} bytes, ${total} expected`);
  return buf;
}

/** `$<len>\r\n` written digit by digit: no string per argument. */
function lengthLine(buf: Buffer, o: number, len: number): number {
  buf[o] = 36; // $
  const end = o + 1 + digits(len);
  for (let p = end - 1, v = len; p > o; p--, v = Math.floor(v / 10)) buf[p] = 48 + (v % 10);
  return crlf(buf, end);
}

function crlf(buf: Buffer, o: number): number {
  buf[o] = 13;
  buf[o + 1] = 10;
  return o + 2;
}
