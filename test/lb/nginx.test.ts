import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import type { SimNodeSpec } from '../../src/simulator/sim-node-spec.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { sleep, until } from '../support/wait.js';
import {
  docBlock,
  freePort,
  startNodesentry,
  startProc,
  waitForNodesentry,
  waitForPort,
  writeNodesFile,
  type NodesentryProcess,
  type Proc,
} from './lb-kit.js';

/**
 * Open-source nginx (Debian's 1.22) with the doc's upstream and the doc's render script, both
 * read out of docs/load-balancers.md: the script turns nodesentry's ranking into the upstream's
 * servers and reloads nginx only when they change, and leaves the file alone whenever nodesentry
 * cannot give an answer. Client requests through nginx show which nodes nginx really uses.
 */

const NODES = ['bsc-fra-1', 'bsc-fra-2', 'bsc-sgp-1'];
const specs: SimNodeSpec[] = NODES.map((id) => ({ id, kind: 'bsc' as const, ownPort: true }));

let dir: string;
let sim: Simulator;
let ns: NodesentryProcess;
let nginx: Proc;
let nginxPort: number;
let upstreamFile: string;
let script: string;
let callsLog: string;
let fake: Server;
let fakeAnswer: { status: number; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-nginx-'));
  chmodSync(dir, 0o755);
  sim = await Simulator.start({ nodes: specs });
  const nodesFile = join(dir, 'nodes.yaml');
  // nginx's timing is not what is measured here: nodesentry probes fast.
  writeNodesFile(nodesFile, NODES, (id) => sim.url(id), {
    backup: 'bsc-sgp-1',
    head: 'defaults: { intervalMs: 500, timeoutMs: 300 }',
  });
  ns = await startNodesentry(nodesFile, { REDIS_URL: undefined });
  await waitForNodesentry(ns, 30_000);

  mkdirSync(join(dir, 'upstreams'));
  mkdirSync(join(dir, 'tmp'));
  upstreamFile = join(dir, 'upstreams', 'bsc.conf');
  // nginx is running before the first render, as it is in production; this file is replaced.
  writeFileSync(upstreamFile, 'server 127.0.0.1:9 down;\n');
  nginxPort = await freePort();
  const site = docBlock('nginx', 'upstreams/bsc.conf')
    .split('/etc/nginx/upstreams/')
    .join(`${dir}/upstreams/`)
    .replace(/\blisten 8545;/, `listen 127.0.0.1:${nginxPort};`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `    ${k}_temp_path ${dir}/tmp/${k};`)
    .join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 256; }\nhttp {\n    access_log off;\n${temp}\n${site}\n}\n`,
  );
  nginx = startProc('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await waitForPort(nginxPort, 10_000, nginx);

  // The doc's script, and `$NGINX` as a wrapper that logs each call, then runs this nginx.
  script = join(dir, 'nginx-upstream.sh');
  writeFileSync(script, docBlock('sh', 'UPSTREAM_FILE'));
  callsLog = join(dir, 'nginx-calls.log');
  writeFileSync(callsLog, '');
  writeFileSync(
    join(dir, 'nginx-wrapper'),
    `#!/bin/sh\necho "$*" >> ${callsLog}\nexec nginx -p ${dir} -c ${dir}/nginx.conf "$@"\n`,
    { mode: 0o755 },
  );

  fake = createServer((_req, res) =>
    res.writeHead(fakeAnswer.status, { 'content-type': 'application/json' }).end(fakeAnswer.body),
  );
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await ns?.stop();
  await sim?.close();
  await new Promise<void>((r) => (fake ? fake.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Run the doc's script against `url` (default: the real nodesentry); async, so the fake server here can answer it. */
function render(url = ns.url): Promise<{ status: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      'bash',
      [script],
      {
        env: {
          ...process.env,
          NODESENTRY_URL: url,
          CHAIN: 'bsc',
          UPSTREAM_FILE: upstreamFile,
          NGINX_CMD: join(dir, 'nginx-wrapper'),
        },
        encoding: 'utf8',
        timeout: 20_000,
      },
      (err, _stdout, stderr) => {
        done({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
      },
    );
  });
}
const reloads = (): number =>
  readFileSync(callsLog, 'utf8')
    .split('\n')
    .filter((l) => l === '-s reload').length;
const upstream = (): string => readFileSync(upstreamFile, 'utf8');
const fakeUrl = (): string => `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
const port = (id: string): string => new URL(sim.url(id)).port;
const calls = (id: string): number => sim.stats(id).calls['net_listening'] ?? 0;

/** `n` client requests through nginx; how many each node answered (`failed`: answers other than 200). */
async function clientShares(n: number): Promise<Map<string, number>> {
  const before = new Map(NODES.map((id) => [id, calls(id)]));
  let failed = 0;
  for (let i = 0; i < n; i++) {
    try {
      const r = await request(`http://127.0.0.1:${nginxPort}/`, {
        method: 'POST',
        body: '{"jsonrpc":"2.0","id":1,"method":"net_listening","params":[]}',
        headers: { 'content-type': 'application/json' },
      });
      if (r.statusCode !== 200) failed++;
      await r.body.text();
    } catch {
      // A reload's old worker closes its idle keep-alive connections: counted, then retried by the loop.
      failed++;
    }
  }
  return new Map([...NODES.map((id) => [id, calls(id) - before.get(id)!] as [string, number]), ['failed', failed]]);
}

/** nginx reloads asynchronously: wait until clients see the new upstream (nobody on `gone`, somebody on `expected`). */
async function untilServedBy(expected: string[], gone: string[]): Promise<Map<string, number>> {
  let last = new Map<string, number>();
  await until(
    async () => {
      last = await clientShares(20);
      // Old workers finish with the old upstream for a moment after a reload: wait for a clean round.
      return (
        last.get('failed') === 0 && expected.every((id) => last.get(id)! > 0) && gone.every((id) => last.get(id) === 0)
      );
    },
    15_000,
    `nginx serving from ${expected.join(', ')} only`,
  ).catch(async (err: Error) => {
    const ranking = await (await request(`${ns.url}/v1/chains/bsc/ranking`)).body.text();
    throw new Error(`${err.message}: last ${JSON.stringify([...last])}\n${upstream()}\n${ranking.slice(0, 3000)}`);
  });
  return last;
}

async function rankingSays(id: string, usable: boolean): Promise<void> {
  await until(
    async () => {
      const r = await request(`${ns.url}/v1/chains/bsc/ranking`);
      const body = (await r.body.json()) as { nodes: Array<{ nodeId: string; usable: boolean }> };
      return body.nodes.find((n) => n.nodeId === id)?.usable === usable;
    },
    20_000,
    `${id} usable=${usable}`,
  );
}

describe("the doc's nginx upstream and render script in nginx 1.22", () => {
  it('the doc shows scripts/nginx-upstream.sh verbatim', () => {
    expect(docBlock('sh', 'UPSTREAM_FILE')).toBe(readFileSync(resolve('scripts/nginx-upstream.sh'), 'utf8'));
  });

  it('renders the usable nodes (tier 1 as backup), reloads once, and clients reach the primaries only', async () => {
    await Promise.all(NODES.map((id) => rankingSays(id, true)));
    const r = await render();
    expect(r.status).toBe(0);
    // nginx -s reload says `[notice] signal process started`; nothing worse.
    expect(r.stderr).not.toMatch(/\[(emerg|alert|crit|error|warn)\]|jq:|curl:/);
    expect(upstream()).toBe(
      [
        `server 127.0.0.1:${port('bsc-fra-1')} weight=10 max_fails=3 fail_timeout=10s;`,
        `server 127.0.0.1:${port('bsc-fra-2')} weight=10 max_fails=3 fail_timeout=10s;`,
        `server 127.0.0.1:${port('bsc-sgp-1')} weight=10 backup max_fails=3 fail_timeout=10s;`,
      ]
        .sort()
        .join('\n') + '\n',
    );
    expect(reloads()).toBe(1);
    await untilServedBy(['bsc-fra-1', 'bsc-fra-2'], ['bsc-sgp-1']);
  }, 40_000);

  it("nothing changed, or only the ranking's order: the file stays, nginx is not reloaded", async () => {
    const file = upstream();
    expect((await render()).status).toBe(0);
    const real = (await (await request(`${ns.url}/v1/chains/bsc/ranking`)).body.json()) as { nodes: unknown[] };
    fakeAnswer = { status: 200, body: JSON.stringify({ ...real, nodes: [...real.nodes].reverse() }) };
    expect((await render(fakeUrl())).status).toBe(0);
    expect(upstream()).toBe(file);
    expect(reloads()).toBe(1);
  });

  it.each<[string, () => string, { status: number; body: string } | null]>([
    ['unreachable', () => `http://127.0.0.1:9`, null],
    ['answering 503', fakeUrl, { status: 503, body: '{"type":"urn:nodesentry:problem:unavailable"}' }],
    ['answering something that is not JSON', fakeUrl, { status: 200, body: '<html>proxy error</html>' }],
    ['listing no nodes', fakeUrl, { status: 200, body: '{"chain":"bsc","nodes":[]}' }],
  ])('nodesentry %s: the script fails, the file stays as it was, no reload', async (_what, url, answer) => {
    const file = upstream();
    if (answer) fakeAnswer = answer;
    const r = await render(url());
    expect(r.status).not.toBe(0);
    expect(upstream()).toBe(file);
    expect(reloads()).toBe(1);
  });

  it('a rendering nginx rejects: the previous file is put back, no reload', async () => {
    const file = upstream();
    fakeAnswer = {
      status: 200,
      body: JSON.stringify({
        nodes: [{ nodeId: 'x', url: 'http://bad host:8545/', usable: true, state: 'healthy', tier: 0 }],
      }),
    };
    const r = await render(fakeUrl());
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the previous one is back/);
    expect(upstream()).toBe(file);
    expect(reloads()).toBe(1);
  });

  it('a node nodesentry judges unhealthy (still answering HTTP) is rendered down; with every primary down, clients reach the backup', async () => {
    await sim.setFault('bsc-fra-2', { type: 'wrong-chain' });
    await rankingSays('bsc-fra-2', false);
    expect((await render()).status).toBe(0);
    expect(upstream()).toContain(`server 127.0.0.1:${port('bsc-fra-2')} down max_fails=3 fail_timeout=10s;`);
    expect(reloads()).toBe(2);
    // The wrong-chain node still answers: only nginx's upstream keeps clients away from it.
    await untilServedBy(['bsc-fra-1'], ['bsc-fra-2', 'bsc-sgp-1']);

    await sim.setFault('bsc-fra-1', { type: 'wrong-chain' });
    await rankingSays('bsc-fra-1', false);
    expect((await render()).status).toBe(0);
    expect(reloads()).toBe(3);
    await untilServedBy(['bsc-sgp-1'], ['bsc-fra-1', 'bsc-fra-2']);

    await Promise.all(['bsc-fra-1', 'bsc-fra-2'].map((id) => sim.setFault(id, { type: 'none' })));
    await Promise.all(['bsc-fra-1', 'bsc-fra-2'].map((id) => rankingSays(id, true)));
    expect((await render()).status).toBe(0);
    expect(reloads()).toBe(4);
    await untilServedBy(['bsc-fra-1', 'bsc-fra-2'], ['bsc-sgp-1']);
    await sleep(0);
  }, 90_000);
});
