import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeCommand } from '../../src/cli/probe-command.js';
import { Simulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-cli-'));
  sim = await Simulator.start({
    authDelayMs: 5,
    nodes: [
      { id: 'bsc', kind: 'bsc' },
      { id: 'bsc-test', kind: 'bsc', chainId: 97 },
      { id: 'evm-other', kind: 'bsc', chainId: 1130 },
      { id: 'defi', kind: 'defid' },
      { id: 'defi-test', kind: 'defid', network: 'test' },
      { id: 'pai', kind: 'paicoind' },
      { id: 'core', kind: 'bitcoind', version: '28.0', network: 'regtest' },
      { id: 'locked', kind: 'defid', auth: { username: 'u', password: 'the-secret-pw' } },
      { id: 'cookie', kind: 'defid', auth: { cookieFile: join(dir, '.cookie') } },
      { id: 'wrong', kind: 'bsc', fault: { type: 'wrong-chain' } },
    ],
  });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await probeCommand(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('nodesentry probe', () => {
  it.each([
    ['bsc', 'bsc'],
    ['bsc-test', 'bsc-testnet'],
    ['evm-other', 'evm'],
    ['defi', 'defichain'],
    ['defi-test', 'defichain-testnet'],
    ['pai', 'pai'],
    ['core', 'bitcoin'],
  ])('detects what %s is when --chain is omitted (%s)', async (id, chain) => {
    const r = await run(sim.url(id), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).chain).toBe(chain);
  });

  it('prints the peer list of a Bitcoin-family node at once (one probe: nothing to phase it into)', async () => {
    const r = await run(sim.url('defi'), '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.peerList).toHaveLength(s.peers.total);
  });

  it('prints a readable table by default', async () => {
    const r = await run(sim.url('defi'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^status\s+ok$/m);
    expect(r.out).toMatch(/^peers\s+\d+ \(\d+ in \/ \d+ out\)$/m);
  });

  it('authenticates with inline credentials and never prints them', async () => {
    const r = await run(sim.urlWithCredentials('locked'), '--chain', 'defichain', '--json');
    expect(r.code).toBe(0);
    expect(r.out + r.err).not.toContain('the-secret-pw');
    expect(JSON.parse(r.out).url).toBe(sim.url('locked'));
  });

  it('authenticates with a cookie file', async () => {
    const r = await run(sim.url('cookie'), '--cookie-file', join(dir, '.cookie'));
    expect(r.code).toBe(0);
  });

  it('exits 1 with the classification when the node is on the wrong chain', async () => {
    const r = await run(sim.url('wrong'), '--chain', 'bsc');
    expect(r.code).toBe(1);
    expect(r.out).toContain('RPC_WRONG_CHAIN');
  });

  it('says "not a Bitcoin-family node" when --chain is of the Bitcoin family and the node is EVM (and back)', async () => {
    const r = await run(sim.url('bsc'), '--chain', 'defichain');
    expect(r.code).toBe(1);
    expect(r.out).toContain('RPC_WRONG_FAMILY');
    expect(r.out).toContain('not a Bitcoin-family node');
    expect(r.out).not.toContain('RPC_MALFORMED_RESPONSE');
    const back = await run(sim.url('defi'), '--chain', 'bsc');
    expect(back.code).toBe(1);
    expect(back.out).toContain('not an EVM node');
  });

  it('exits 1 with a clear message when the node cannot be reached', async () => {
    const r = await run('http://127.0.0.1:1/');
    expect(r.code).toBe(1);
    expect(r.err).toContain('RPC_CONNECTION_REFUSED');
  });

  it('exits 1 when credentials are missing', async () => {
    const r = await run(sim.url('locked'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('RPC_AUTH_FAILED');
  });

  it.each([
    [['not a url'], /bad URL: not a valid URL/],
    [['ftp://user:pw-123456@host/'], /unsupported URL scheme ftp:/],
    [[], /expected exactly one URL/],
    [['http://h/', '--chain', 'bsx'], /unknown chain "bsx"/],
    [['http://h/', '--chain', 'evm'], /needs --chain-id/],
    [['http://h/', '--timeout', '0'], /--timeout/],
    [['http://h/', '--bogus'], /unknown option '--bogus'$/m],
  ])('exits 2 on bad usage %j', async (args, message) => {
    const r = await run(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toContain('pw-123456');
  });
});
