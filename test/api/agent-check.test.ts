import { connect } from 'node:net';
import {
  agentReply,
  AgentCheckServer,
  degradedWeightPercent,
  healthyWeightPercent,
  parseAgentLine,
} from '../../src/api/agent-check.js';
import { startHttp } from '../../src/api/http-server.js';
import { NodeAnswers } from '../../src/read/node-answers.js';
import { ReadModel } from '../../src/read/read-model.js';
import { loadSettings } from '../../src/config/settings.js';
import { startHarness, type Harness } from '../support/api-harness.js';

/** What HAProxy does: connect, optionally send, read until the peer closes. */
function agentExchange(
  port: number,
  send: string | Buffer | null,
  opts: { halfClose?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      if (send !== null) s.write(send);
      if (opts.halfClose) s.end();
    });
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

describe('HAProxy agent check', () => {
  let h: Harness;
  let agent: AgentCheckServer;
  let skewMs = 0;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-ok', kind: 'bsc' },
        { id: 'bsc-few-peers', kind: 'bsc', peers: { inbound: 2, outbound: 2 } },
        { id: 'bsc-bad-auth', kind: 'bsc', fault: { type: 'unauthorized' } },
        { id: 'bsc-drained', kind: 'bsc' },
      ],
    });
    await h.sweep();
    const drain = { nodeId: 'bsc-drained', by: 'test', at: Date.now() };
    await h.service.store.setDrain('bsc-drained', drain);
    h.service.view.setDrain('bsc-drained', drain);
    agent = await AgentCheckServer.start({
      port: 0,
      host: '127.0.0.1',
      answers: new NodeAnswers(new ReadModel(h.service)),
      now: () => Date.now() + skewMs,
      readTimeoutMs: 200,
      maxLineBytes: 64,
    });
  });
  afterAll(async () => {
    await agent.close();
    await h.close();
  });
  afterEach(() => {
    skewMs = 0;
  });

  it('when a healthy node is asked, then it is up, ready, weighted by its score', async () => {
    const reply = await agentExchange(agent.port, 'bsc-ok\n');
    const score = h.service.view.get('bsc-ok')!.health!;
    expect(reply).toBe(`up ready ${healthyWeightPercent(score.score.total)}%\n`);
    expect(reply).toMatch(/^up ready ([5-9]\d|100)%\n$/);
  });

  it("when a degraded node is asked, then it is still up, with at most a fifth of the healthy one's weight", async () => {
    const healthy = Number(/(\d+)%/.exec(await agentExchange(agent.port, 'bsc-ok\n'))![1]);
    const degraded = Number(/(\d+)%/.exec(await agentExchange(agent.port, 'bsc-few-peers\n'))![1]);
    expect(degraded).toBeGreaterThanOrEqual(1);
    expect(degraded * 5).toBeLessThanOrEqual(healthy);
  });

  it('when an unhealthy node is asked, then it is down with its first reason', async () => {
    // A space before '#': HAProxy starts a description only at the start of a word.
    expect(await agentExchange(agent.port, 'bsc-bad-auth\n')).toBe('down #auth_failed\n');
  });

  it('when a drained node is asked, then it drains', async () => {
    expect(await agentExchange(agent.port, 'bsc-drained\n')).toBe('drain\n');
  });

  it('when a drained node is asked with drained=maint, then it goes to maintenance; other options are loud', async () => {
    expect(await agentExchange(agent.port, 'bsc-drained drained=maint\n')).toBe('maint\n');
    expect(await agentExchange(agent.port, 'bsc-ok drained=maint\n')).toMatch(/^up ready \d+%\n$/);
    expect(await agentExchange(agent.port, 'bsc-ok drainde=maint\n')).toBe('down #bad_option(drainde)\n');
  });

  it('when the samples are stale, then the node is down, saying so', async () => {
    skewMs = 60_000;
    expect(await agentExchange(agent.port, 'bsc-ok\n')).toMatch(/^down #stale_sample\(\d+s\)\n$/);
  });

  it.each([
    ['an unknown node id', 'no-such-node\n', 'down #unknown_node\n'],
    ['an id ended by CRLF', 'bsc-bad-auth\r\n', 'down #auth_failed\n'],
    ['an empty line', '\n', 'down #no_node_id\n'],
    ['binary garbage with a newline', Buffer.from([0xff, 0x00, 0x1b, 0x5b, 0x0a]), 'down #unknown_node\n'],
    ['a line longer than the bound', 'x'.repeat(200), 'down #line_too_long\n'],
  ])('when HAProxy sends %s, then the reply is one safe line', async (_what, send, reply) => {
    expect(await agentExchange(agent.port, send)).toBe(reply);
  });

  it('when nothing is sent (no agent-send), then after the read timeout it answers no_node_id', async () => {
    expect(await agentExchange(agent.port, null)).toBe('down #no_node_id\n');
  });

  it('when the id comes without a newline, then the pause (or a half-close) ends it', async () => {
    expect(await agentExchange(agent.port, 'bsc-drained')).toBe('drain\n');
    expect(await agentExchange(agent.port, 'bsc-drained', { halfClose: true })).toBe('drain\n');
  });

  it('when many checks come at once, then each gets its own answer', async () => {
    const ids = ['bsc-ok', 'bsc-bad-auth', 'bsc-drained', 'nope'];
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => agentExchange(agent.port, `${ids[i % 4]}\n`)),
    );
    replies.forEach((r, i) =>
      expect(r).toMatch([/^up ready/, /^down #auth_failed/, /^drain/, /^down #unknown_node/][i % 4]!),
    );
  });

  it('maps each state and weight as documented', () => {
    const base = {
      nodeId: 'n',
      chain: 'bsc',
      usable: true,
      reasons: [],
      observedAt: 1,
      jsonHead: '',
      text: '',
      textLength: 0,
    };
    expect(agentReply({ ...base, state: 'healthy', score: 0.874 })).toBe('up ready 87%');
    expect(agentReply({ ...base, state: 'healthy', score: 0.2 })).toBe('up ready 50%');
    expect(agentReply({ ...base, state: 'healthy', score: null })).toBe('up ready 100%');
    expect(agentReply({ ...base, state: 'degraded', score: 0.874 })).toBe('up ready 9%');
    expect(agentReply({ ...base, state: 'degraded', score: 0 })).toBe('up ready 1%');
    expect(agentReply({ ...base, state: 'degraded', score: 1 })).toBe('up ready 10%');
    expect(agentReply({ ...base, state: 'maintenance', score: 1 })).toBe('drain');
    expect(agentReply({ ...base, state: 'maintenance', score: 1 }, { drained: 'maint' })).toBe('maint');
    expect(agentReply({ ...base, state: 'unknown', score: null })).toBe('down #unknown');
    const reason = {
      code: 'lagging',
      text: 'lagging(41 blocks, 31s)\u0007\n',
      severity: 'unhealthy',
      data: {},
    } as const;
    expect(agentReply({ ...base, state: 'unhealthy', score: 0.2, reasons: [reason] })).toBe(
      'down #lagging(41 blocks, 31s)??',
    );
    expect(agentReply(undefined)).toBe('down #unknown_node');
  });

  it('separates healthy from degraded for every score: the worst healthy weighs at least 5x the best degraded', () => {
    for (let i = 0; i <= 100; i++) {
      expect(healthyWeightPercent(i / 100)).toBeGreaterThanOrEqual(5 * degradedWeightPercent(1));
      expect(degradedWeightPercent(i / 100)).toBeGreaterThanOrEqual(1);
    }
  });

  it('parses the agent-send line: id, then options', () => {
    expect(parseAgentLine('bsc-1')).toEqual({ ok: true, nodeId: 'bsc-1', drained: 'drain', key: undefined });
    expect(parseAgentLine('bsc-1 \tdrained=maint key=k1')).toEqual({
      ok: true,
      nodeId: 'bsc-1',
      drained: 'maint',
      key: 'k1',
    });
    expect(parseAgentLine('bsc-1 drained=off')).toEqual({ ok: false, reply: 'down #bad_option(drained)' });
    expect(parseAgentLine(undefined)).toEqual({ ok: false, reply: 'down #no_node_id' });
  });
});

describe('agent-check listener started with the HTTP server', () => {
  it('when NODESENTRY_AGENT_PORT is set, then startHttp opens it and close() (twice) shuts both', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-1', kind: 'bsc' }] });
    try {
      await h.sweep();
      const settings = loadSettings({ PORT: '0', HOST: '127.0.0.1', NODESENTRY_AGENT_PORT: '0' });
      const http = await startHttp({
        service: h.service,
        logger: h.service.logger,
        settings,
        reload: async () => ({ ok: false, errors: ['no nodes file is configured'] }),
      });
      const port = http.agent!.port;
      expect(await agentExchange(port, 'bsc-1\n')).toMatch(/^up ready \d+%\n$/);
      await Promise.all([http.close(), http.close()]);
      await http.close();
      await expect(agentExchange(port, 'bsc-1\n')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await h.close();
    }
  });

  it('when NODESENTRY_PROTECT_PROBES is on, then the agent wants key=<key> in its line, like the HTTP probes want the header', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-1', kind: 'bsc' }] });
    try {
      await h.sweep();
      const key = 'agent-key-0123456789';
      const settings = loadSettings({
        PORT: '0',
        HOST: '127.0.0.1',
        NODESENTRY_AGENT_PORT: '0',
        NODESENTRY_API_KEY: key,
        NODESENTRY_PROTECT_PROBES: 'true',
      });
      const http = await startHttp({
        service: h.service,
        logger: h.service.logger,
        settings,
        reload: async () => ({ ok: false, errors: ['no nodes file is configured'] }),
      });
      try {
        const port = http.agent!.port;
        expect(await agentExchange(port, 'bsc-1\n')).toBe('down #unauthorized\n');
        expect(await agentExchange(port, 'bsc-1 key=wrong-key\n')).toBe('down #unauthorized\n');
        expect(await agentExchange(port, `bsc-1 key=${key}\n`)).toMatch(/^up ready \d+%\n$/);
        // The key says nothing about which nodes exist to one who lacks it.
        expect(await agentExchange(port, 'no-such-node\n')).toBe('down #unauthorized\n');
        expect(h.logText()).not.toContain(key);
      } finally {
        await http.close();
      }
    } finally {
      await h.close();
    }
  });

  it('when no agent port is set, then there is no listener', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-1', kind: 'bsc' }] });
    try {
      const http = await startHttp({
        service: h.service,
        logger: h.service.logger,
        settings: loadSettings({ PORT: '0', HOST: '127.0.0.1' }),
        reload: async () => ({ ok: false, errors: ['no nodes file is configured'] }),
      });
      expect(http.agent).toBeUndefined();
      await http.close();
    } finally {
      await h.close();
    }
  });
});
