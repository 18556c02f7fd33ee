import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { http, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { until } from '../support/wait.js';

// Issue 14, case 7: a hostile (or merely chatty) node that quotes our request back, in its
// JSON-RPC error messages and its version string: the URL with its `${VAR}` token and
// `?apikey=`, and the Authorization header, raw and decoded. The real CLI (`serve` and
// `probe`) must never store, log or serve any of it, in any form.

const USER = 'echo-user';
const PASS = 'Echo-Pa55-8f2c';
const PATH_TOKEN = 'PathTok-77a1c9e4b2';
const API_KEY_VALUE = 'QueryKey-5d0e3a9f61';
const basic = Buffer.from(`${USER}:${PASS}`).toString('base64');
const FORMS = [PASS, PATH_TOKEN, API_KEY_VALUE, basic, Buffer.from(PASS).toString('base64'), encodeURIComponent(PASS)];

let node: Server;
let nodeUrl: string;
let dir: string;
let replica: ReplicaProcess;
const execFileP = promisify(execFile);

beforeAll(async () => {
  node = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
      const quote = `${req.method} ${req.url} authorization=${auth} (${decoded}) pass-b64=${Buffer.from(PASS).toString('base64')}`;
      const calls = JSON.parse(body) as Array<{ id: number; method: string }> | { id: number; method: string };
      const answer = (c: { id: number; method: string }) =>
        c.method === 'web3_clientVersion'
          ? { jsonrpc: '2.0', id: c.id, result: `Geth/v1.4 echo ${quote}` }
          : { jsonrpc: '2.0', id: c.id, error: { code: -32000, message: `access denied for ${quote}` } };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(Array.isArray(calls) ? calls.map(answer) : answer(calls)));
    });
  });
  await new Promise<void>((r) => node.listen(0, '127.0.0.1', () => r()));
  nodeUrl = `127.0.0.1:${(node.address() as { port: number }).port}`;
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-echo-'));
  const file = join(dir, 'nodes.yaml');
  writeFileSync(
    file,
    [
      'defaults: { intervalMs: 400, timeoutMs: 300 }',
      'nodes:',
      `  - id: echo-1`,
      '    chain: bsc',
      `    url: "http://${USER}:${PASS}@${nodeUrl}/v1/\${ECHO_TOKEN}/rpc?apikey=${API_KEY_VALUE}&region=eu"`,
      '',
    ].join('\n'),
  );
  replica = await startReplica({
    configFile: file,
    env: { ECHO_TOKEN: PATH_TOKEN, LOG_LEVEL: 'trace', REDIS_URL: '' },
  });
});

afterAll(async () => {
  replica?.kill();
  await new Promise<void>((r) => node.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const leaks = (text: string) => FORMS.filter((f) => text.includes(f));

describe('secrets a node echoes back', () => {
  it('when a node quotes the URL and the Authorization header in its errors, then no answer or log line holds them, and the messages still arrive, redacted', async () => {
    await until(
      async () =>
        String((await http(replica.url, '/v1/nodes/echo-1')).body?.sample?.error?.message ?? '').includes(
          'access denied',
        ),
      10_000,
      "a sample with the node's error",
    );
    const answers = await Promise.all(
      [
        '/v1/nodes/echo-1',
        '/v1/nodes',
        '/probe/nodes/echo-1',
        '/v1/nodes/echo-1/transitions',
        '/v1/chains/bsc',
        '/metrics',
      ].map((p) => http(replica.url, p)),
    );
    const served = answers.map((a) => (typeof a.body === 'string' ? a.body : JSON.stringify(a.body))).join('\n');
    const detail = answers[0]!.body;
    // The node's message reaches the operator, with the secrets blanked out.
    expect(detail.sample.error.message).toContain('access denied for POST /v1/[redacted]/rpc?apikey=[redacted]');
    expect(detail.sample.error.message).toMatch(/authorization=Basic \[redacted\]/);
    expect(detail.url).toBe(`http://${nodeUrl}/v1/\${ECHO_TOKEN}/rpc?apikey=[redacted]&region=eu`);
    expect(leaks(served)).toEqual([]);
    expect(leaks(replica.lines.map((l) => JSON.stringify(l)).join('\n') + replica.stderr())).toEqual([]);
  });

  it('when `nodesentry probe` is pointed at it, then its output holds no secret either', async () => {
    const url = `http://${USER}:${PASS}@${nodeUrl}/v1/${PATH_TOKEN}/rpc?apikey=${API_KEY_VALUE}`;
    const out = await execFileP(process.execPath, [resolve('dist/cli.js'), 'probe', url, '--chain', 'bsc', '--json'], {
      env: { ...process.env, LOG_LEVEL: 'trace' },
    }).catch((e: { stdout: string; stderr: string }) => e);
    const text = `${out.stdout}\n${out.stderr}`;
    expect(text).toContain('access denied');
    expect(leaks(text).filter((f) => f !== PATH_TOKEN)).toEqual([]);
  });
});
