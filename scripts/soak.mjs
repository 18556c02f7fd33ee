#!/usr/bin/env node
// @ts-check
/**
 * nodesentry soak: a bounded, loopback-only run of the whole system under changing faults.
 *
 *   npm run soak                    # 5 minutes
 *   npm run soak -- --minutes 1     # shorter; see --help for the rest
 *
 * What runs, all on 127.0.0.1: the node simulator with a few hundred nodes whose faults change
 * every few seconds (hang, 401, malformed, warm-up, slow, reset, 502, truncated, syncing, wrong
 * chain, down/up), a Redis (a private redis-server on a free port unless REDIS_URL is set), two
 * replicas (`node dist/cli.js serve`, child processes sharing the Redis), a load loop hitting
 * probes and views at a bounded rate, an SSE subscriber counting transitions, a few drains, and
 * a Redis restart in the middle. Every few seconds each replica's RSS and heap are sampled from
 * its /metrics.
 *
 * It stops by itself (a watchdog kills everything if cleanup hangs), prints a summary and exits
 * 1 if it saw an unexpected 5xx, a request that failed or hung, an unhandled rejection (here),
 * a replica crash or error log line, a replica that did not stop cleanly, or unbounded memory
 * growth (heap at the end more than 2x the heap after warm-up). Uses dist/: build first.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const USAGE = `usage: node scripts/soak.mjs [--minutes N] [--nodes N] [--rate N] [--sample-seconds N] [--interval-ms N]

  --minutes         how long the load runs (default 5; fractions allowed)
  --nodes           simulated nodes (default 300)
  --rate            API requests per second, across both replicas (default 40)
  --sample-seconds  memory sampling period (default 5)
  --interval-ms     probe interval of every node (default 3000)

  REDIS_URL set: that Redis is used under a fresh key prefix (removed at the end) and not
  restarted; otherwise a private redis-server is started on a free port and restarted midway.`;

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    nodes: { type: 'string', default: '300' },
    rate: { type: 'string', default: '40' },
    'sample-seconds': { type: 'string', default: '5' },
    'interval-ms': { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const num = (name, min, max) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min || v > max) {
    console.error(`soak: --${name} must be a number from ${min} to ${max}\n\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const DURATION_MS = Math.round(num('minutes', 0.25, 24 * 60) * 60_000);
const NODES = Math.round(num('nodes', 10, 5_000));
const RATE = num('rate', 1, 2_000);
const SAMPLE_MS = Math.round(num('sample-seconds', 1, 600) * 1000);
const INTERVAL_MS = Math.round(num('interval-ms', 500, 60_000));
const TIMEOUT_MS = Math.min(1_000, Math.floor(INTERVAL_MS / 2));
/** The first part of the run, before memory is taken as the baseline. */
const WARMUP_MS = Math.max(10_000, Math.round(DURATION_MS * 0.15));
const FAULT_EVERY_MS = 3_000;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 64;
const ADMIN_TOKEN = `soak-admin-${Math.random().toString(36).slice(2)}-token`;
const REPLICAS = 2;

const { Simulator } = await import(join(ROOT, 'dist', 'simulator', 'simulator.js')).catch(() => {
  console.error('soak: dist/ is missing or stale; run `npm run build` first');
  process.exit(2);
});

// ---- bookkeeping ------------------------------------------------------------------------------

const started = Date.now();
const elapsed = () => Date.now() - started;
const stamp = () => `${(elapsed() / 1000).toFixed(1).padStart(6)}s`;
const say = (msg) => console.log(`[soak ${stamp()}] ${msg}`);
const counts = {
  requests: 0,
  ok2xx: 0,
  client4xx: 0,
  probeVerdicts: 0,
  noUsableNode503: 0,
  storeUnavailable503: 0,
  unexpected5xx: 0,
  requestErrors: 0,
  timeouts: 0,
  skippedBusy: 0,
  transitions: 0,
  sseDrops: 0,
  faultChanges: 0,
  drains: 0,
  redisRestarts: 0,
  unhandledRejections: 0,
};
/** A few examples of each kind of failure, for the report. */
const examples = new Map();
const note = (kind, text) => {
  const list = examples.get(kind) ?? [];
  if (list.length < 3) list.push(text.slice(0, 300));
  examples.set(kind, list);
};
process.on('unhandledRejection', (reason) => {
  counts.unhandledRejections++;
  note('unhandled rejection (soak process)', String(/** @type {any} */ (reason)?.stack ?? reason));
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
let stopping = false;

// The run must end by itself: if cleanup hangs, kill what we started and leave.
const watchdog = setTimeout(() => {
  console.error(
    `[soak] watchdog: still running ${Math.round((DURATION_MS + 120_000) / 1000)} s after the start; killing everything`,
  );
  for (const c of children) c.proc.kill('SIGKILL');
  redisChild?.kill('SIGKILL');
  process.exit(2);
}, DURATION_MS + 120_000);
watchdog.unref();
process.once('SIGINT', () => {
  console.error('[soak] SIGINT: cleaning up');
  stopping = true;
  void finish(130);
});

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => res(port));
    });
  });
}

// ---- Redis ------------------------------------------------------------------------------------

/** @type {import('node:child_process').ChildProcess | undefined} */
let redisChild;
let redisUrl = process.env.REDIS_URL;
const ownRedis = !redisUrl;
let redisPort = 0;
let redisDir = '';
const prefix = `soak-${process.pid}-${Date.now().toString(36)}`;

async function redisPing() {
  const { Socket } = await import('node:net');
  return new Promise((res) => {
    const s = new Socket();
    s.setTimeout(500);
    s.once('error', () => res(false));
    s.once('timeout', () => (s.destroy(), res(false)));
    s.once('data', (d) => (s.destroy(), res(d.toString().startsWith('+PONG'))));
    s.connect(redisPort, '127.0.0.1', () => s.write('PING\r\n'));
  });
}

async function startRedis() {
  redisChild = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir],
    { stdio: 'ignore' },
  );
  redisChild.on('error', (err) => note('redis', `cannot start redis-server: ${err.message}`));
  const until = Date.now() + 10_000;
  while (!(await redisPing())) {
    if (Date.now() > until)
      throw new Error('redis-server did not answer PING within 10 s (is it installed? or set REDIS_URL)');
    await sleep(50);
  }
}

async function stopRedis() {
  const c = redisChild;
  redisChild = undefined;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  await new Promise((r) => {
    c.once('exit', r);
    c.kill('SIGKILL');
  });
}

async function cleanupExternalPrefix() {
  if (ownRedis || !redisUrl) return;
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } catch (err) {
    note('cleanup', `could not remove the soak keys from REDIS_URL: ${/** @type {Error} */ (err).message}`);
  } finally {
    r.disconnect();
  }
}

// ---- simulator and faults ---------------------------------------------------------------------

const KINDS = [
  { kind: 'bsc', chain: 'bsc' },
  { kind: 'defid', chain: 'defichain' },
  { kind: 'paicoind', chain: 'pai' },
];
const specs = Array.from({ length: NODES }, (_, i) => {
  const { kind } = KINDS[i % KINDS.length];
  // One node in twenty listens on a port of its own, so it can go down (connection refused).
  return { id: `${kind}-${String(i).padStart(4, '0')}`, kind, ...(i % 20 === 7 ? { ownPort: true } : {}) };
});
const chainOf = new Map(specs.map((s, i) => [s.id, KINDS[i % KINDS.length].chain]));
const FAULTS = [
  { type: 'hang' },
  { type: 'unauthorized' },
  { type: 'malformed' },
  { type: 'warmup' },
  { type: 'slow', delayMs: 3_000 },
  { type: 'slow', delayMs: 200 },
  { type: 'reset' },
  { type: 'http', status: 502 },
  { type: 'truncated' },
  { type: 'syncing', behindBlocks: 500 },
  { type: 'wrong-chain' },
  { type: 'oversized', bytes: 5 * 1024 * 1024 },
];
let rngState = 0x2545f491;
const rand = () => {
  // xorshift32: a reproducible mix of faults from run to run.
  rngState ^= rngState << 13;
  rngState ^= rngState >>> 17;
  rngState ^= rngState << 5;
  return (rngState >>> 0) / 0x1_0000_0000;
};
const pick = (list) => list[Math.floor(rand() * list.length)];
/** Node id -> current fault type. */
const faulty = new Map();

async function shuffleFaults(sim) {
  // Heal about a third of the faulty nodes, break about 4% of the fleet: ~10-15% faulty at a time.
  for (const id of [...faulty.keys()]) {
    if (rand() < 0.35) {
      await sim.setFault(id, { type: 'none' });
      faulty.delete(id);
      counts.faultChanges++;
    }
  }
  const breakN = Math.max(1, Math.round(NODES * 0.04));
  for (let i = 0; i < breakN; i++) {
    const s = pick(specs);
    const fault = s.ownPort && rand() < 0.5 ? { type: 'down' } : pick(FAULTS);
    await sim.setFault(s.id, fault);
    faulty.set(s.id, fault.type);
    counts.faultChanges++;
  }
}

// ---- replicas ---------------------------------------------------------------------------------

/**
 * @typedef {{ name: string, proc: import('node:child_process').ChildProcess, url?: string, errorLines: number, stderr: string,
 *   exit?: { code: number | null, signal: string | null }, stoppedByUs: boolean, agent: Agent,
 *   samples: Array<{ t: number, rss: number, heap: number }>, lastProbes: number }} Replica
 */
/** @type {Replica[]} */
const children = [];

function startReplica(name, configFile) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    NODESENTRY_REDIS_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODESENTRY_ADMIN_TOKEN: ADMIN_TOKEN,
  };
  delete env.NODESENTRY_API_KEY;
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {Replica} */
  const r = {
    name,
    proc,
    errorLines: 0,
    stderr: '',
    stoppedByUs: false,
    agent: new Agent({ keepAlive: true, maxSockets: 32 }),
    samples: [],
    lastProbes: 0,
  };
  createInterface({ input: /** @type {import('node:stream').Readable} */ (proc.stdout) }).on('line', (line) => {
    let l;
    try {
      l = JSON.parse(line);
    } catch {
      r.errorLines++;
      note(`${name}: stdout not JSON`, line);
      return;
    }
    if (l.msg === 'API listening') r.url = l.url;
    if (typeof l.level === 'number' && l.level >= 50) {
      r.errorLines++;
      note(`${name}: error log line`, line);
    }
  });
  proc.stderr?.on('data', (c) => {
    r.stderr += String(c);
    note(`${name}: stderr`, String(c));
  });
  proc.on('exit', (code, signal) => {
    r.exit = { code, signal };
    if (!r.stoppedByUs) note(`${name}: crashed`, `exit code ${code}, signal ${signal}`);
  });
  children.push(r);
  return r;
}

// ---- HTTP ---------------------------------------------------------------------------------------

/**
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string } | { error: string }>}
 */
function get(r, method, path, headers = {}, body) {
  return new Promise((res) => {
    const req = httpRequest(
      `${r.url}${path}`,
      { method, agent: r.agent, headers: body ? { 'content-type': 'application/json', ...headers } : headers },
      (resp) => {
        let text = '';
        resp.setEncoding('utf8');
        resp.on('data', (c) => (text += c));
        resp.on(
          'end',
          () => (clearTimeout(timer), res({ status: resp.statusCode ?? 0, headers: resp.headers, body: text })),
        );
        resp.on('aborted', () => (clearTimeout(timer), res({ error: 'aborted mid-answer' })));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      res({ error: 'timeout' });
    }, REQUEST_TIMEOUT_MS);
    req.on(
      'error',
      (err) => (clearTimeout(timer), res({ error: /** @type {NodeJS.ErrnoException} */ (err).code ?? err.message })),
    );
    req.end(body);
  });
}

function classify(method, path, a) {
  counts.requests++;
  if ('error' in a) {
    if (a.error === 'timeout') counts.timeouts++;
    else counts.requestErrors++;
    note(`request ${a.error}`, `${method} ${path}`);
    return;
  }
  if (a.status < 400) return void counts.ok2xx++;
  // A probe's verdict rides on its status (503 down, 429 degraded with ?degraded=429, 404
  // drained with ?drained=404) and is named in x-nodesentry-state: an answer, not an error.
  if (
    path.startsWith('/probe/') &&
    typeof a.headers['x-nodesentry-state'] === 'string' &&
    [404, 429, 503].includes(a.status)
  )
    return void counts.probeVerdicts++;
  if (a.status < 500) {
    counts.client4xx++;
    note(`4xx ${a.status}`, `${method} ${path}: ${a.body.slice(0, 160)}`);
    return;
  }
  let type = '';
  try {
    type = JSON.parse(a.body).type ?? '';
  } catch {
    // not a problem+json body: counted by status alone
  }
  if (a.status === 503 && type === 'urn:nodesentry:problem:no_usable_node') return void counts.noUsableNode503++;
  if (a.status === 503 && type === 'urn:nodesentry:problem:store_unavailable') return void counts.storeUnavailable503++;
  counts.unexpected5xx++;
  note(`unexpected ${a.status}`, `${method} ${path}: ${a.body.slice(0, 200)}`);
}

const CHAINS = ['bsc', 'defichain', 'pai'];
const STATES = ['healthy', 'degraded', 'unhealthy', 'unknown', 'maintenance'];
function nextRequest() {
  const id = pick(specs).id;
  const chain = pick(CHAINS);
  const x = rand();
  // Load balancers dominate: probes in every dialect; then dashboards and backends.
  if (x < 0.3) return ['GET', `/probe/nodes/${id}`];
  if (x < 0.38) return ['HEAD', `/probe/nodes/${id}?degraded=429&drained=404`];
  if (x < 0.45) return ['OPTIONS', `/probe/nodes/${id}`];
  if (x < 0.52) return ['GET', `/probe/chains/${chain}?format=text`];
  if (x < 0.6) return ['GET', `/v1/chains/${chain}/best?top=3`];
  if (x < 0.65) return ['GET', `/v1/chains/${chain}/ranking`];
  if (x < 0.7) return ['GET', '/v1/chains'];
  if (x < 0.78) return ['GET', `/v1/nodes?limit=50&state=${pick(STATES)}`];
  if (x < 0.86) return ['GET', `/v1/nodes/${id}`];
  if (x < 0.92) return ['GET', `/v1/nodes/${id}/history?limit=30`];
  if (x < 0.96) return ['GET', `/v1/nodes/${id}/peers`];
  return ['GET', '/readyz'];
}

async function loadLoop(until) {
  let inFlight = 0;
  const gap = 1000 / RATE;
  let next = Date.now();
  let turn = 0;
  while (Date.now() < until && !stopping) {
    next += gap;
    const r = children[turn++ % children.length];
    if (inFlight >= MAX_IN_FLIGHT) counts.skippedBusy++;
    else if (r.url && !r.exit) {
      const [method, path] = nextRequest();
      inFlight++;
      void get(r, method, path).then((a) => {
        inFlight--;
        if (path === '/readyz' && 'status' in a && a.status === 503) return void counts.requests++;
        classify(method, path, a);
      });
    }
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
  }
  while (inFlight > 0) await sleep(20);
}

/** A dashboard's event stream on the first replica: counts transitions, reconnects if dropped. */
function subscribe(r) {
  let closed = false;
  /** @type {import('node:http').ClientRequest | undefined} */
  let current;
  const open = () => {
    if (closed) return;
    let buf = '';
    current = httpRequest(`${r.url}/v1/events?heartbeat=5`, { agent: false }, (resp) => {
      resp.setEncoding('utf8');
      resp.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (/^event: transition$/m.test(frame)) counts.transitions++;
        }
      });
      const dropped = () => {
        if (closed) return;
        counts.sseDrops++;
        note('event stream dropped', `${r.name}`);
        setTimeout(open, 500);
      };
      resp.on('end', dropped);
      resp.on('aborted', dropped);
    });
    current.on('error', () => {
      if (closed) return;
      counts.sseDrops++;
      setTimeout(open, 500);
    });
    current.end();
  };
  open();
  return () => {
    closed = true;
    current?.destroy();
  };
}

async function sampleMemory() {
  for (const r of children) {
    if (!r.url || r.exit) continue;
    const a = await get(r, 'GET', '/metrics');
    if ('error' in a || a.status !== 200) {
      note(`${r.name}: metrics`, 'error' in a ? a.error : `status ${a.status}`);
      continue;
    }
    const metric = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(a.body)?.[1] ?? NaN);
    r.samples.push({
      t: elapsed(),
      rss: metric('process_resident_memory_bytes'),
      heap: metric('nodejs_heap_size_used_bytes'),
    });
    r.lastProbes = metric('nodesentry_poller_probes_total');
  }
  const line = children.map((r) => {
    const s = r.samples.at(-1);
    return s ? `${r.name} rss ${mb(s.rss)} heap ${mb(s.heap)} probes ${r.lastProbes}` : `${r.name} -`;
  });
  say(
    `${line.join(' | ')} | requests ${counts.requests}, transitions ${counts.transitions}, faulty nodes ${faulty.size}`,
  );
}

const mb = (b) => (Number.isFinite(b) ? `${(b / 1024 / 1024).toFixed(1)} MB` : 'n/a');

// ---- the run ------------------------------------------------------------------------------------

let dir = '';
/** @type {any} */
let sim;
let unsubscribe = () => {};
let finished = false;

async function main() {
  dir = await mkdtemp(join(tmpdir(), 'nodesentry-soak-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  if (ownRedis) {
    redisPort = await freePort();
    redisDir = join(dir, 'redis');
    await (await import('node:fs/promises')).mkdir(redisDir);
    await startRedis();
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    say(`redis-server on 127.0.0.1:${redisPort} (private, persistence off)`);
  } else {
    const host = new URL(/** @type {string} */ (redisUrl)).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
      throw new Error(`REDIS_URL must point at loopback for a soak (got host ${host})`);
    say(`using REDIS_URL under prefix ${prefix} (not restarted)`);
  }

  sim = await Simulator.start({ nodes: specs, authDelayMs: 20 });
  say(
    `simulator: ${NODES} nodes on 127.0.0.1:${sim.port} (${specs.filter((s) => s.ownPort).length} on ports of their own)`,
  );
  const configFile = join(dir, 'nodes.yaml');
  const yaml = ['defaults:', `  intervalMs: ${INTERVAL_MS}`, `  timeoutMs: ${TIMEOUT_MS}`, 'nodes:'];
  for (const s of specs) yaml.push(`  - { id: ${s.id}, chain: ${chainOf.get(s.id)}, url: "${sim.url(s.id)}" }`);
  await writeFile(configFile, `${yaml.join('\n')}\n`);

  for (let i = 0; i < REPLICAS; i++) startReplica(`replica-${String.fromCharCode(97 + i)}`, configFile);
  const upBy = Date.now() + 30_000;
  while (children.some((r) => !r.url)) {
    if (Date.now() > upBy || children.some((r) => r.exit))
      throw new Error(
        `a replica did not start: ${children.map((r) => `${r.name} ${r.url ?? 'no url'} ${r.stderr.slice(0, 300)}`).join('; ')}`,
      );
    await sleep(50);
  }
  say(`replicas: ${children.map((r) => `${r.name} ${r.url} (pid ${r.proc.pid})`).join(', ')}`);
  unsubscribe = subscribe(children[0]);

  const loadUntil = started + DURATION_MS;
  const load = loadLoop(loadUntil);
  /** Work started by timers, awaited before the replicas are stopped. */
  const pending = new Set();
  const track = (p) => {
    const settled = p.catch((err) => note('timer task', String(err))).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  const sampler = setInterval(() => track(sampleMemory()), SAMPLE_MS);
  const faults = setInterval(
    () => void shuffleFaults(sim).catch((err) => note('fault switch', String(err))),
    FAULT_EVERY_MS,
  );
  // An operator drains and undrains a node now and then (writes through the store, events).
  const drains = setInterval(() => {
    const r = pick(children);
    const id = pick(specs).id;
    track(
      (async () => {
        const on = await get(
          r,
          'POST',
          `/v1/nodes/${id}/drain`,
          { authorization: `Bearer ${ADMIN_TOKEN}` },
          JSON.stringify({ reason: 'soak' }),
        );
        classify('POST', `/v1/nodes/${id}/drain`, on);
        await sleep(2_000);
        const off = await get(pick(children), 'DELETE', `/v1/nodes/${id}/drain`, {
          authorization: `Bearer ${ADMIN_TOKEN}`,
        });
        classify('DELETE', `/v1/nodes/${id}/drain`, off);
        counts.drains++;
      })(),
    );
  }, 10_000);
  say(
    `${Math.round(DURATION_MS / 1000)} s of load at ${RATE} req/s (the first ${Math.round(WARMUP_MS / 1000)} s are warm-up); faults change every ${FAULT_EVERY_MS / 1000} s`,
  );

  // A Redis restart in the middle of the measured part.
  if (ownRedis) {
    await sleep(WARMUP_MS + (DURATION_MS - WARMUP_MS) / 2 - elapsed());
    if (!stopping) {
      const outage = Math.min(10_000, Math.max(3_000, DURATION_MS / 20));
      say(`Redis: stopping for ${Math.round(outage / 1000)} s`);
      await stopRedis();
      await sleep(outage);
      await startRedis();
      counts.redisRestarts++;
      say('Redis: back (empty: no persistence)');
    }
  }

  await load;
  clearInterval(sampler);
  clearInterval(faults);
  clearInterval(drains);
  await Promise.all([...pending]);
  await sampleMemory();
  return finish();
}

async function finish(forcedCode) {
  if (finished) return;
  finished = true;
  stopping = true;
  unsubscribe();
  // Replicas: SIGTERM, and they must exit 0 on their own.
  await Promise.all(
    children.map(async (r) => {
      if (r.exit) return;
      r.stoppedByUs = true;
      const exited = new Promise((res) => r.proc.once('exit', res));
      r.proc.kill('SIGTERM');
      const t = setTimeout(() => {
        note(`${r.name}: did not stop`, 'no exit 15 s after SIGTERM; killed');
        r.proc.kill('SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(t);
      r.agent.destroy();
    }),
  );
  await sim?.close();
  if (ownRedis) await stopRedis();
  else await cleanupExternalPrefix();
  for (const c of cleanups) await c();
  const code = forcedCode ?? report();
  clearTimeout(watchdog);
  process.exit(code);
}

function report() {
  const fail = [];
  const rows = [];
  const row = (k, v) => rows.push([k, String(v)]);
  row(
    'duration',
    `${Math.round(DURATION_MS / 1000)} s of load (${Math.round(WARMUP_MS / 1000)} s warm-up), ${Math.round(elapsed() / 1000)} s in all`,
  );
  row('nodes / replicas', `${NODES} / ${REPLICAS} (interval ${INTERVAL_MS} ms, timeout ${TIMEOUT_MS} ms)`);
  row('requests served', counts.requests);
  row('  2xx-3xx', counts.ok2xx);
  row('  4xx', counts.client4xx);
  row('  probe verdicts 503/429/404', counts.probeVerdicts);
  row('  503 no usable node', counts.noUsableNode503);
  row('  503 store unavailable (outage)', counts.storeUnavailable503);
  row('  unexpected 5xx', counts.unexpected5xx);
  row('  failed (reset, refused)', counts.requestErrors);
  row('  hung (> 10 s)', counts.timeouts);
  row('  not sent (64 in flight)', counts.skippedBusy);
  row('transitions seen (SSE)', counts.transitions);
  row('event stream drops', counts.sseDrops);
  row('fault changes', counts.faultChanges);
  row('drain/undrain cycles', counts.drains);
  row('Redis restarts', ownRedis ? counts.redisRestarts : 'none (REDIS_URL given)');
  row('unhandled rejections (soak)', counts.unhandledRejections);
  for (const r of children) {
    const s = r.samples;
    const after = s.filter((x) => x.t >= WARMUP_MS);
    const heaps = s.map((x) => x.heap);
    const rss = s.map((x) => x.rss);
    // The heap right after warm-up and at the end, as minima over a few samples: the live heap
    // after a collection, not whatever garbage happened to be around at one instant.
    const base = Math.min(...after.slice(0, 3).map((x) => x.heap));
    const end = Math.min(...s.slice(-3).map((x) => x.heap));
    const ratio = end / base;
    row(`${r.name} rss min/max/last`, `${mb(Math.min(...rss))} / ${mb(Math.max(...rss))} / ${mb(rss.at(-1) ?? NaN)}`);
    row(
      `${r.name} heap min/max/last`,
      `${mb(Math.min(...heaps))} / ${mb(Math.max(...heaps))} / ${mb(heaps.at(-1) ?? NaN)}`,
    );
    row(`${r.name} heap after warm-up -> end`, `${mb(base)} -> ${mb(end)} (x${ratio.toFixed(2)}, ${s.length} samples)`);
    row(
      `${r.name} probes / error lines / exit`,
      `${r.lastProbes} / ${r.errorLines} / ${r.exit ? `code ${r.exit.code}${r.exit.signal ? ` signal ${r.exit.signal}` : ''}` : 'running'}`,
    );
    if (!(after.length >= 2 && Number.isFinite(ratio))) fail.push(`${r.name}: too few memory samples after warm-up`);
    else if (ratio > 2) fail.push(`${r.name}: heap grew x${ratio.toFixed(2)} after warm-up`);
    if (r.errorLines > 0) fail.push(`${r.name}: ${r.errorLines} error log lines`);
    if (r.stderr.trim() !== '') fail.push(`${r.name}: wrote to stderr`);
    if (!r.stoppedByUs) fail.push(`${r.name}: crashed`);
    else if (!r.exit || r.exit.code !== 0) fail.push(`${r.name}: did not exit 0 after SIGTERM`);
  }
  if (counts.unexpected5xx > 0) fail.push(`${counts.unexpected5xx} unexpected 5xx`);
  if (counts.requestErrors > 0) fail.push(`${counts.requestErrors} failed requests`);
  if (counts.timeouts > 0) fail.push(`${counts.timeouts} hung requests`);
  if (counts.unhandledRejections > 0) fail.push(`${counts.unhandledRejections} unhandled rejections`);
  if (counts.requests === 0) fail.push('no request was served');

  const w = Math.max(...rows.map(([k]) => k.length));
  console.log('\nnodesentry soak summary');
  console.log('-'.repeat(w + 40));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  console.log('-'.repeat(w + 40));
  if (examples.size > 0) {
    console.log('examples:');
    for (const [kind, list] of examples) for (const e of list) console.log(`  ${kind}: ${e}`);
  }
  console.log(fail.length === 0 ? 'PASS' : `FAIL\n  ${fail.join('\n  ')}`);
  return fail.length === 0 ? 0 : 1;
}

main().catch(async (err) => {
  console.error(`[soak] ${err?.stack ?? err}`);
  await finish(1);
});
