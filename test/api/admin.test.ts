import { pino } from 'pino';
import request from 'supertest';
import type { ReloadOutcome } from '../../src/api/api-context.js';
import { createApp } from '../../src/api/app.js';
import { secretMatches } from '../../src/api/auth.js';
import { loadSettings } from '../../src/config/settings.js';
import { DEFAULT_HEALTH_POLICY } from '../../src/health/policy.js';
import { Service } from '../../src/service.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const TOKEN = 'admin-token-0123456789abcdef';
const PROBLEM = /^application\/problem\+json/;

describe('admin routes', () => {
  let h: Harness;
  let reloadImpl: () => Promise<ReloadOutcome> = async () => ({ ok: true, added: [], removed: [], changed: [] });
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'dfi-1', kind: 'defid' },
        { id: 'dfi-warm', kind: 'defid', fault: { type: 'warmup' } },
        { id: 'pai-auth', kind: 'paicoind', auth: { username: 'rpc', password: 'pai-secret-pass' } },
        { id: 'bsc-1', kind: 'bsc' },
      ],
      env: { NODESENTRY_ADMIN_TOKEN: TOKEN },
      reload: () => reloadImpl(),
    });
    await h.sweep(3);
  });
  afterAll(() => h.close());

  const admin = (r: request.Test) => r.set('authorization', `Bearer ${TOKEN}`);
  const adminLines = () => h.logs().filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('admin:'));

  describe('authentication', () => {
    it.each([
      ['post', '/v1/nodes/dfi-1/drain'],
      ['delete', '/v1/nodes/dfi-1/drain'],
      ['post', '/v1/nodes/dfi-1/network'],
      ['post', '/v1/admin/reload'],
      ['get', '/v1/admin/audit'],
    ] as const)('when %s %s has no token, then 401; a wrong one, then 403; nothing happens', async (method, path) => {
      const r = await request(h.app)[method](path).expect(401);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      expect(r.body.type).toBe('urn:nodesentry:problem:unauthorized');
      await request(h.app)[method](path).set('authorization', 'Bearer wrong-token').expect(403);
      await request(h.app)[method](path).set('authorization', `Bearer ${TOKEN}x`).expect(403);
      const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
      await request(h.app)[method](path).set('authorization', basic).expect(401);
      // The admin token is not an API key header.
      await request(h.app)[method](path).set('x-api-key', TOKEN).expect(401);
      expect(h.service.view.drain('dfi-1')).toBeUndefined();
    });

    it('compares secrets through hashes: any length, no exception, only the exact secret matches', () => {
      expect(secretMatches(TOKEN, TOKEN)).toBe(true);
      expect(secretMatches(undefined, TOKEN)).toBe(false);
      expect(secretMatches('', TOKEN)).toBe(false);
      expect(secretMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
      expect(secretMatches(TOKEN.repeat(100), TOKEN)).toBe(false);
      expect(secretMatches(TOKEN.toUpperCase(), TOKEN)).toBe(false);
    });
  });

  describe('drain', () => {
    afterEach(async () => {
      await admin(request(h.app).delete('/v1/nodes/dfi-1/drain'));
    });

    it('when drained, then the node is maintenance at once, the drain says who, when and why, is stored, audited and logged once', async () => {
      const before = adminLines().length;
      const r = await admin(request(h.app).post('/v1/nodes/dfi-1/drain'))
        .set('x-operator', 'alice <ops>')
        .send({ reason: 'kernel upgrade' })
        .expect(200);
      expect(r.body).toMatchObject({
        nodeId: 'dfi-1',
        drained: true,
        changed: true,
        state: 'maintenance',
        audited: true,
        drain: { by: 'alice ops', reason: 'kernel upgrade' },
      });
      const node = await request(h.app).get('/v1/nodes/dfi-1').expect(200);
      expect(node.body).toMatchObject({
        state: 'maintenance',
        drained: true,
        drain: { by: 'alice ops', reason: 'kernel upgrade', at: r.body.drain.at },
      });
      expect(node.body.reasons[0].code).toBe('drained');
      const list = await request(h.app).get('/v1/nodes?state=maintenance').expect(200);
      expect(list.body.items.map((n: { id: string }) => n.id)).toEqual(['dfi-1']);
      expect((await h.service.store.getDrains()).get('dfi-1')).toMatchObject({
        by: 'alice ops',
        reason: 'kernel upgrade',
      });
      const audit = await admin(request(h.app).get('/v1/admin/audit?limit=1')).expect(200);
      expect(audit.body.items[0]).toMatchObject({
        action: 'drain',
        nodeId: 'dfi-1',
        by: 'alice ops',
        reason: 'kernel upgrade',
        changed: true,
        replica: h.service.replica,
      });
      const lines = adminLines().slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ action: 'drain', node: 'dfi-1', by: 'alice ops' });
    });

    it('when a drained node is drained again, then who and when are kept; a new reason replaces the drain', async () => {
      const first = await admin(request(h.app).post('/v1/nodes/dfi-1/drain')).set('x-operator', 'alice').expect(200);
      const again = await admin(request(h.app).post('/v1/nodes/dfi-1/drain')).set('x-operator', 'bob').expect(200);
      expect(again.body).toMatchObject({ changed: false, drain: { by: 'alice', at: first.body.drain.at } });
      const replaced = await admin(request(h.app).post('/v1/nodes/dfi-1/drain'))
        .set('x-operator', 'bob')
        .send({ reason: 'disk' })
        .expect(200);
      expect(replaced.body).toMatchObject({ changed: true, drain: { by: 'bob', reason: 'disk' } });
    });

    it('when undrained, then the node resumes its tracked state at once; undraining again changes nothing', async () => {
      await admin(request(h.app).post('/v1/nodes/dfi-1/drain')).expect(200);
      const r = await admin(request(h.app).delete('/v1/nodes/dfi-1/drain')).expect(200);
      expect(r.body).toMatchObject({ drained: false, changed: true, previous: { by: 'admin' } });
      expect(['healthy', 'degraded']).toContain(r.body.state);
      expect((await request(h.app).get('/v1/nodes/dfi-1')).body).toMatchObject({ drained: false, drain: null });
      expect((await h.service.store.getDrains()).has('dfi-1')).toBe(false);
      const again = await admin(request(h.app).delete('/v1/nodes/dfi-1/drain')).expect(200);
      expect(again.body).toMatchObject({ changed: false, previous: null });
    });

    it('when the node is unknown, then 404 and nothing is stored', async () => {
      const r = await admin(request(h.app).post('/v1/nodes/ghost/drain')).expect(404);
      expect(r.body.type).toBe('urn:nodesentry:problem:node_not_found');
      expect((await h.service.store.getDrains()).has('ghost')).toBe(false);
    });

    it.each([
      ['a text body', 415, 'unsupported_media_type', 'text/plain', 'reason'],
      ['malformed JSON', 400, 'malformed_body', 'application/json', '{"reason":'],
      ['a JSON string', 400, 'malformed_body', 'application/json', '"x"'],
      ['an array', 400, 'bad_request', 'application/json', '[]'],
      ['an unknown member', 400, 'bad_request', 'application/json', '{"reson":"x"}'],
      ['a reason that is not text', 400, 'bad_request', 'application/json', '{"reason":5}'],
      ['a reason too long', 400, 'bad_request', 'application/json', JSON.stringify({ reason: 'x'.repeat(201) })],
      ['a body over 8 KiB', 413, 'payload_too_large', 'application/json', JSON.stringify({ reason: 'x'.repeat(9000) })],
    ])('when the body is %s, then %d %s and nothing is drained', async (_what, status, code, type, body) => {
      const r = await admin(request(h.app).post('/v1/nodes/dfi-1/drain'))
        .set('content-type', type)
        .send(body)
        .expect(status);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      expect(r.body.type).toBe(`urn:nodesentry:problem:${code}`);
      expect(h.service.view.drain('dfi-1')).toBeUndefined();
    });

    it('when the reason holds control characters, then they are blanked out', async () => {
      const r = await admin(request(h.app).post('/v1/nodes/dfi-1/drain'))
        .send({ reason: 'line1\nline2\u0000' })
        .expect(200);
      expect(r.body.drain.reason).toBe('line1 line2');
    });
  });

  describe('network', () => {
    it('when a Bitcoin-family node is switched off and on, then the node answers and its next probe shows it', async () => {
      const off = await admin(request(h.app).post('/v1/nodes/dfi-1/network'))
        .set('x-operator', 'carol')
        .send({ active: false })
        .expect(200);
      expect(off.body).toMatchObject({
        nodeId: 'dfi-1',
        requested: { active: false },
        result: false,
        networkActive: false,
        audited: true,
      });
      await h.sweep(1);
      const node = (await request(h.app).get('/v1/nodes/dfi-1').expect(200)).body;
      expect(node.sample.networkActive).toBe(false);
      expect(node.hysteresis.latestVerdict).toBe('unhealthy');
      const on = await admin(request(h.app).post('/v1/nodes/dfi-1/network')).send({ active: true }).expect(200);
      expect(on.body.networkActive).toBe(true);
      await h.sweep(3);
      expect((await request(h.app).get('/v1/nodes/dfi-1')).body.sample.networkActive).toBe(true);
      const audit = await admin(request(h.app).get('/v1/admin/audit?limit=2')).expect(200);
      expect(audit.body.items.map((e: { active: boolean; by: string }) => [e.active, e.by])).toEqual([
        [true, 'admin'],
        [false, 'carol'],
      ]);
    });

    it("when the node needs credentials, then nodesentry's are used", async () => {
      const r = await admin(request(h.app).post('/v1/nodes/pai-auth/network')).send({ active: true }).expect(200);
      expect(r.body.networkActive).toBe(true);
    });

    it('when the node is EVM, then 409 and the node is not called', async () => {
      h.sim.resetStats();
      const r = await admin(request(h.app).post('/v1/nodes/bsc-1/network')).send({ active: false }).expect(409);
      expect(r.body.detail).toMatch(/Bitcoin-family/);
      expect(h.sim.stats('bsc-1').requests).toBe(0);
    });

    it('when the node answers with an error, then 502 with its stable code', async () => {
      const r = await admin(request(h.app).post('/v1/nodes/dfi-warm/network')).send({ active: false }).expect(502);
      expect(r.body).toMatchObject({
        type: 'urn:nodesentry:problem:node_error',
        nodeError: { code: 'RPC_WARMING_UP', rpcCode: -28 },
      });
      const audit = await admin(request(h.app).get('/v1/admin/audit?limit=1')).expect(200);
      expect(audit.body.items[0]).toMatchObject({
        action: 'network',
        nodeId: 'dfi-warm',
        ok: false,
        error: 'RPC_WARMING_UP',
      });
    });

    it.each([[undefined], [{}], [{ active: 'false' }], [{ active: true, extra: 1 }]])(
      'when the body is %j, then 400',
      async (body) => {
        const req = admin(request(h.app).post('/v1/nodes/dfi-1/network'));
        await (body === undefined ? req : req.send(body)).expect(400);
      },
    );

    it('when the node is unknown, then 404', async () => {
      await admin(request(h.app).post('/v1/nodes/ghost/network')).send({ active: true }).expect(404);
    });
  });

  describe('reload', () => {
    it('when the file is valid, then it answers added, removed and changed, and audits', async () => {
      reloadImpl = async () => ({ ok: true, added: ['n-new'], removed: ['n-old'], changed: [] });
      const r = await admin(request(h.app).post('/v1/admin/reload')).set('x-operator', 'dave').expect(200);
      expect(r.body).toMatchObject({ ok: true, added: ['n-new'], removed: ['n-old'], changed: [], nodes: 4 });
      const audit = await admin(request(h.app).get('/v1/admin/audit?limit=1')).expect(200);
      expect(audit.body.items[0]).toMatchObject({ action: 'reload', by: 'dave', ok: true, added: ['n-new'] });
    });

    it('when the file is invalid, then 422 with the errors', async () => {
      reloadImpl = async () => ({ ok: false, errors: ['nodes.yaml: nodes[0].url: not a valid URL'] });
      const r = await admin(request(h.app).post('/v1/admin/reload')).expect(422);
      expect(r.headers['content-type']).toMatch(PROBLEM);
      expect(r.body.errors).toEqual(['nodes.yaml: nodes[0].url: not a valid URL']);
    });

    it('when a reload is running, then a second one is refused with 409', async () => {
      let release!: () => void;
      reloadImpl = () =>
        new Promise((resolve) => (release = () => resolve({ ok: true, added: [], removed: [], changed: [] })));
      const first = admin(request(h.app).post('/v1/admin/reload')).then((r) => r);
      await new Promise((r) => setTimeout(r, 50));
      await admin(request(h.app).post('/v1/admin/reload')).expect(409);
      release();
      expect((await first).status).toBe(200);
    });
  });

  describe('audit', () => {
    it('when the limit is invalid, then 400', async () => {
      await admin(request(h.app).get('/v1/admin/audit?limit=0')).expect(400);
      await admin(request(h.app).get('/v1/admin/audit?limit=1001')).expect(400);
      await admin(request(h.app).get('/v1/admin/audit?lim=5')).expect(400);
    });

    it('lists newest first with who and when', async () => {
      const r = await admin(request(h.app).get('/v1/admin/audit')).expect(200);
      expect(r.body.limit).toBe(100);
      const ats = r.body.items.map((e: { at: number }) => e.at);
      expect(ats.length).toBeGreaterThan(3);
      expect([...ats].sort((a: number, b: number) => b - a)).toEqual(ats);
      for (const e of r.body.items) expect(typeof e.by).toBe('string');
    });
  });
});

describe('admin routes without a token or a nodes file', () => {
  it('when no admin token is configured, then admin routes are disabled with 403 and say how to enable them', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-1', kind: 'bsc' }] });
    try {
      const r = await request(h.app)
        .post('/v1/nodes/bsc-1/drain')
        .set('authorization', 'Bearer anything-at-all-long')
        .expect(403);
      expect(r.body.detail).toMatch(/disabled.*NODESENTRY_ADMIN_TOKEN/);
      await request(h.app).post('/v1/nodes/bsc-1/drain').expect(403);
      expect(h.service.view.drain('bsc-1')).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('when the fleet has no file to reload, then reload is a 409', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-1', kind: 'bsc' }], env: { NODESENTRY_ADMIN_TOKEN: TOKEN } });
    try {
      const r = await request(h.app).post('/v1/admin/reload').set('authorization', `Bearer ${TOKEN}`).expect(409);
      expect(r.body.detail).toMatch(/no nodes file/);
    } finally {
      await h.close();
    }
  });
});

describe('drains across replicas (Redis)', () => {
  it('when one replica drains a node, then another replica sharing the prefix serves it as maintenance', async () => {
    const h = await startHarness({
      specs: [
        { id: 'bsc-1', kind: 'bsc' },
        { id: 'bsc-2', kind: 'bsc' },
      ],
      store: 'redis',
      env: { NODESENTRY_ADMIN_TOKEN: TOKEN },
    });
    const url = process.env.REDIS_URL!;
    const prefix = (h.service.store as RedisStore).keys.prefix;
    const otherStore = new RedisStore({ url, prefix, replica: 'replica-b' });
    await otherStore.ready(5_000);
    const other = await Service.start({
      settings: loadSettings({ PORT: '0', REDIS_URL: url, NODESENTRY_ROLE: 'api' }),
      nodes: h.nodes,
      policy: DEFAULT_HEALTH_POLICY,
      logger: pino({ level: 'silent' }),
      replica: 'replica-b',
      store: otherStore,
    });
    const otherApp = createApp({ service: other });
    try {
      await h.sweep(3);
      await request(h.app)
        .post('/v1/nodes/bsc-2/drain')
        .set('authorization', `Bearer ${TOKEN}`)
        .set('x-operator', 'erin')
        .send({ reason: 'move' })
        .expect(200);
      let seen: { state?: string; drain?: unknown } = {};
      for (let i = 0; i < 50 && seen.state !== 'maintenance'; i++) {
        seen = (await request(otherApp.app).get('/v1/nodes/bsc-2').expect(200)).body;
        if (seen.state !== 'maintenance') await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toMatchObject({ state: 'maintenance', drain: { by: 'erin', reason: 'move' } });
      await request(h.app).delete('/v1/nodes/bsc-2/drain').set('authorization', `Bearer ${TOKEN}`).expect(200);
      for (let i = 0; i < 50 && seen.state === 'maintenance'; i++) {
        seen = (await request(otherApp.app).get('/v1/nodes/bsc-2').expect(200)).body;
        if (seen.state === 'maintenance') await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen.drain).toBeNull();
      // The audit log is shared too.
      const audit = await otherStore.getAudit(2);
      expect(audit.map((e) => (e as { action: string }).action)).toEqual(['undrain', 'drain']);
    } finally {
      otherApp.close();
      await other.close();
      await h.close();
    }
  });
});
