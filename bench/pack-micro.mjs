// Micro benchmark of a sweep batch's script call on the wire: ioredis's own command string (and
// the UTF-8 encoding the socket does of it) against packCommand's one Buffer, µs per call of
// 130 steady records (the fenced sweep script's arguments), and whether the bytes are equal.
//   npm run build && node bench/pack-micro.mjs [dist]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'ioredis';

const dist = resolve(process.argv[2] ?? 'dist');
const { packCommand } = await import(resolve(dist, 'store/packed-command.js'));
const record = JSON.stringify(
  JSON.parse(readFileSync(new URL('../test/store/fixtures/steady-record.json', import.meta.url), 'utf8')),
);
const NODES = 130;
const args = ['0123456789abcdef0123456789abcdef01234567', 1 + NODES * 5, '{nodesentry}:nodes'];
for (let i = 0; i < NODES; i++)
  for (const kind of ['lease', 'node', 'peers', 'history', 'transitions']) args.push(`{nodesentry}:${kind}:bsc-${i}`);
args.push('w1', 30_000, 120_000, 1000, 3_600_000, 100, 86_400_000, '{nodesentry}:events', '{"v":1,"records":[', 8);
for (let i = 0; i < NODES; i++)
  args.push(`bsc-${i}`, record, record.slice(0, 430), '', 1, '{"at":1796186302361,"ok":true,"latencyMs":505.72}', 0);

const cpuUs = (f, n) => {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
};
const viaIoredis = () => Buffer.from(new Command('evalsha', args).toWritable(), 'utf8');
const packed = () => packCommand('evalsha', args);
const equal = viaIoredis().equals(packed());
const rows = [];
for (let r = 0; r < 7; r++) rows.push([cpuUs(viaIoredis, 200), cpuUs(packed, 200)]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [a, b] = [median(rows.map((x) => x[0])), median(rows.map((x) => x[1]))];
console.log(
  `${NODES}-record call (${packed().length} bytes): ioredis string + UTF-8 ${a.toFixed(0)} µs, packed ${b.toFixed(0)} µs (${(a / NODES).toFixed(2)} vs ${(b / NODES).toFixed(2)} µs per record); bytes equal: ${equal}`,
);
