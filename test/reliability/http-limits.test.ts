import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { http, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { sleep, until } from '../support/wait.js';

// Issue 14, cases 6 and 8, on the real CLI: connection bounds (max connections, max event
// streams, header timeouts enforced within a second or two), then SIGTERM under keep-alive
// load, where no request on a kept-alive connection may be reset.

const SPECS: SimNodeSpec[] = [{ id: 'bsc-1', kind: 'bsc' }];
const MAX_CONNECTIONS = 40;
const MAX_STREAMS = 3;
const HEADERS_TIMEOUT_MS = 2_000;

let sim: Simulator;
let dir: string;
let replica: ReplicaProcess;
let port: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  sim = await Simulator.start({ nodes: SPECS, authDelayMs: 5 });
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-limits-'));
  const file = join(dir, 'nodes.yaml');
  writeFileSync(
    file,
    `defaults: { intervalMs: 500, timeoutMs: 300 }\nnodes:\n  - { id: bsc-1, chain: bsc, url: "${sim.url('bsc-1')}" }\n`,
  );
  replica = await startReplica({
    configFile: file,
    env: {
      REDIS_URL: '',
      NODESENTRY_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      NODESENTRY_MAX_EVENT_STREAMS: String(MAX_STREAMS),
      NODESENTRY_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    },
  });
  port = Number(new URL(replica.url).port);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  replica?.kill();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A raw TCP connection; resolves once connected, and records when the server closed it. */
function connect(): Promise<{ socket: Socket; closedAt: () => number | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    sockets.push(socket);
    let closedAt: number | undefined;
    socket.on('close', () => (closedAt ??= Date.now()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closedAt: () => closedAt }));
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1');
  });
}

function openStream(): Promise<{ status: number; headers: Record<string, unknown>; body: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${replica.url}/v1/events`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += String(c);
        if (res.statusCode === 200 && body.includes('event: hello'))
          resolve({ status: 200, headers: res.headers, body, close: () => req.destroy() });
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, close: () => req.destroy() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bounds that hold', () => {
  it('case 8: when more event streams are asked for than allowed, then the extra one gets 429 problem+json with Retry-After, and a slot frees when one closes', async () => {
    const open = await Promise.all(Array.from({ length: MAX_STREAMS }, () => openStream()));
    expect(open.map((s) => s.status)).toEqual(Array(MAX_STREAMS).fill(200));
    const extra = await openStream();
    expect(extra.status).toBe(429);
    expect(extra.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(Number(extra.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(extra.body)).toMatchObject({ status: 429, maxEventStreams: MAX_STREAMS });
    open[0]!.close();
    await until(
      async () => (await openStream().then((s) => (s.close(), s.status))) === 200,
      3_000,
      'a freed stream slot',
    );
    for (const s of open) s.close();
  });

  it('case 8: when idle connections pile up, then those past the bound are closed on accept, every one is closed by the header timeout within 1.5 s of it, and /livez answers again', async () => {
    await sleep(200); // the streams above are gone
    const started = Date.now();
    const conns = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS + 20 }, () => connect().catch(() => undefined)),
    );
    await sleep(300);
    const closedEarly = conns.filter((c) => c === undefined || c.closedAt() !== undefined).length;
    // At least the 20 over the bound went at once (a little slack for sockets of earlier tests closing).
    expect(closedEarly).toBeGreaterThanOrEqual(20);
    expect(closedEarly).toBeLessThanOrEqual(25);
    // A slowloris: one header byte every 300 ms, never finishing.
    const slow = await connect();
    slow.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.socket.writable && slow.socket.write('X-A: b\r\n'), 300);
    try {
      await until(
        () => conns.every((c) => c === undefined || c.closedAt() !== undefined) && slow.closedAt() !== undefined,
        HEADERS_TIMEOUT_MS + 5_000,
        'every idle and slow connection closed',
      );
    } finally {
      clearInterval(drip);
    }
    const lastIdle = Math.max(...conns.map((c) => c?.closedAt() ?? 0));
    expect(lastIdle - started).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(lastIdle - started).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + 1_500);
    expect(slow.closedAt()! - started).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + 1_800);
    expect((await http(replica.url, '/livez')).status).toBe(200);
  });

  it('case 6: when SIGTERM comes under keep-alive load, then no request on a kept-alive connection is reset, answers say Connection: close, and the process exits 0', async () => {
    const CLIENTS = 8;
    const outcomes = { ok: 0, closeAnswers: 0, refused: 0, reset: 0, other: [] as string[] };
    let stop = false;
    const loop = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        await new Promise<void>((done) => {
          const req = httpRequest(`${replica.url}/probe/nodes/bsc-1`, { agent }, (res) => {
            res.resume();
            res.on('end', () => {
              outcomes.ok++;
              if (res.headers.connection === 'close') outcomes.closeAnswers++;
              done();
            });
          });
          req.on('error', (err: NodeJS.ErrnoException) => {
            // A new connection after the listener closed is refused: never sent, never lost.
            if (err.code === 'ECONNREFUSED') {
              outcomes.refused++;
              stop = true;
            } else if (err.code === 'ECONNRESET' || err.message === 'socket hang up') outcomes.reset++;
            else outcomes.other.push(err.code ?? err.message);
            done();
          });
          req.end();
        });
      }
      agent.destroy();
    };
    const loops = Array.from({ length: CLIENTS }, () => loop());
    await sleep(800);
    const before = outcomes.ok;
    expect(before).toBeGreaterThan(CLIENTS);
    replica.signal('SIGTERM');
    const exit = await replica.exited;
    stop = true;
    await Promise.all(loops);
    expect(outcomes.reset).toBe(0);
    expect(outcomes.other).toEqual([]);
    // Every client was told to leave on an answer, not cut off.
    expect(outcomes.closeAnswers).toBeGreaterThanOrEqual(CLIENTS);
    expect(exit.code).toBe(0);
  }, 30_000);
});
