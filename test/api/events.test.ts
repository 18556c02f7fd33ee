import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { z } from 'zod';
import { DrainEvent, HelloEvent, SelectionEvent, TransitionEvent } from '../../src/api/schemas/events.js';
import type { ViewListener } from '../../src/view/fleet-view.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const TOKEN = 'admin-token-0123456789abcdef';

interface SseMessage {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
  retry?: number;
}

/** Every message any stream of this file received, for the schema check at the end of the first describe. */
const received: SseMessage[] = [];

/** An SSE client over a real socket: collects every message as it arrives. */
interface Stream {
  readonly res: IncomingMessage;
  readonly messages: SseMessage[];
  next(pred: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

function openStream(base: string, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = [];
      const waiters: Array<() => void> = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m: SseMessage = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) m.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) m.id = line.slice(4);
            else if (line.startsWith('event: ')) m.event = line.slice(7);
            else if (line.startsWith('data: ')) m.data = JSON.parse(line.slice(6));
            else if (line.startsWith('retry: ')) m.retry = Number(line.slice(7));
          }
          messages.push(m);
          received.push(m);
          for (const w of waiters.splice(0)) w();
        }
      });
      res.on('close', () => {
        for (const w of waiters.splice(0)) w();
      });
      resolve({
        res,
        messages,
        async next(pred, timeoutMs = 3_000) {
          const deadline = Date.now() + timeoutMs;
          let from = 0;
          for (;;) {
            const found = messages.slice(from).find(pred);
            if (found) return found;
            from = messages.length;
            if (Date.now() > deadline || res.destroyed || res.complete)
              throw new Error(`no matching SSE message; got ${JSON.stringify(messages)}`);
            await new Promise<void>((r) => {
              const t = setTimeout(r, Math.max(1, deadline - Date.now()));
              waiters.push(() => {
                clearTimeout(t);
                r();
              });
            });
          }
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}

async function listen(h: Harness): Promise<{ server: Server; base: string }> {
  const server = createServer(h.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** Counts the fleet view's live listeners by wrapping `on` (the real one still runs). */
function countListeners(h: Harness): { active: () => number } {
  const view = h.service.view;
  const original = view.on.bind(view);
  let active = 0;
  view.on = (listener: ViewListener) => {
    active++;
    const off = original(listener);
    let done = false;
    return () => {
      if (!done) {
        done = true;
        active--;
      }
      return off();
    };
  };
  return { active: () => active };
}

const until = async (cond: () => boolean, timeoutMs = 2_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('GET /v1/events', () => {
  let h: Harness;
  let server: Server;
  let base: string;
  let listeners: { active: () => number };
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'bsc-b', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid' },
      ],
      env: { NODESENTRY_ADMIN_TOKEN: TOKEN },
    });
    listeners = countListeners(h);
    await h.sweep(3);
    ({ server, base } = await listen(h));
  });
  afterAll(async () => {
    await stop(server);
    await h.close();
  });

  it('when a client connects, then it gets an event stream that starts with retry and hello', async () => {
    const s = await openStream(base, '/v1/events');
    try {
      expect(s.res.statusCode).toBe(200);
      expect(s.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(s.res.headers['cache-control']).toBe('no-store');
      const hello = await s.next((m) => m.event === 'hello');
      expect(s.messages[0]!.retry).toBe(3_000);
      expect(hello.data).toMatchObject({
        replica: h.service.replica,
        heartbeatS: 15,
        chain: null,
        resumed: false,
        events: ['transition', 'drain', 'selection'],
      });
    } finally {
      s.close();
    }
  });

  it('when the chosen node fails, then each client gets one transition per change and a selection event', async () => {
    const s = await openStream(base, '/v1/events');
    try {
      await s.next((m) => m.event === 'hello');
      const chosen =
        h.service.view.chainFacts('bsc') &&
        (h.service.view.chainFacts('bsc')!.facts as { selection: { nodeId: string } }).selection.nodeId;
      expect(['bsc-a', 'bsc-b']).toContain(chosen);
      const other = chosen === 'bsc-a' ? 'bsc-b' : 'bsc-a';
      await h.sim.setFault(chosen!, { type: 'http', status: 502 });
      await h.sweep(3);
      const t = await s.next((m) => m.event === 'transition' && (m.data as { nodeId: string }).nodeId === chosen);
      expect(t.data).toMatchObject({
        nodeId: chosen,
        chain: 'bsc',
        from: 'healthy',
        to: 'unhealthy',
        replica: h.service.replica,
      });
      expect((t.data as { reasons: string[] }).reasons[0]).toMatch(/^http_status/);
      expect(t.id).toMatch(/^[0-9a-f]{6}-\d+$/);
      const sel = await s.next((m) => m.event === 'selection' && (m.data as { chain: string }).chain === 'bsc');
      expect(sel.data).toMatchObject({
        chain: 'bsc',
        from: chosen,
        to: other,
        mode: 'normal',
        reason: 'current_unusable',
      });
      // Let the store's copy of the transition arrive: it must not be sent a second time.
      await new Promise((r) => setTimeout(r, 50));
      expect(
        s.messages.filter((m) => m.event === 'transition' && (m.data as { nodeId: string }).nodeId === chosen),
      ).toHaveLength(1);
      await h.sim.setFault(chosen!, { type: 'none' });
      await h.sweep(3);
      await s.next(
        (m) =>
          m.event === 'transition' &&
          (m.data as { nodeId: string; to: string }).nodeId === chosen &&
          (m.data as { to: string }).to === 'healthy',
      );
      const ids = s.messages.filter((m) => m.id).map((m) => Number(m.id!.split('-')[1]));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    } finally {
      s.close();
    }
  });

  it("when filtered by chain, then only that chain's events arrive; drains come with who and why", async () => {
    const all = await openStream(base, '/v1/events');
    const dfi = await openStream(base, '/v1/events?chain=defichain');
    try {
      await dfi.next((m) => m.event === 'hello');
      await all.next((m) => m.event === 'hello');
      const auth = { authorization: `Bearer ${TOKEN}` };
      await request(h.app).post('/v1/nodes/bsc-a/drain').set(auth).expect(200);
      await request(h.app)
        .post('/v1/nodes/dfi-a/drain')
        .set(auth)
        .set('x-operator', 'frank')
        .send({ reason: 'upgrade' })
        .expect(200);
      const d = await dfi.next((m) => m.event === 'drain');
      expect(d.data).toMatchObject({
        nodeId: 'dfi-a',
        chain: 'defichain',
        drained: true,
        by: 'frank',
        reason: 'upgrade',
      });
      await all.next((m) => m.event === 'drain' && (m.data as { nodeId: string }).nodeId === 'dfi-a');
      expect(all.messages.some((m) => m.event === 'drain' && (m.data as { nodeId: string }).nodeId === 'bsc-a')).toBe(
        true,
      );
      expect(dfi.messages.some((m) => (m.data as { chain?: string } | undefined)?.chain === 'bsc')).toBe(false);
      await request(h.app).delete('/v1/nodes/dfi-a/drain').set(auth).expect(200);
      await request(h.app).delete('/v1/nodes/bsc-a/drain').set(auth).expect(200);
      const u = await dfi.next((m) => m.event === 'drain' && (m.data as { drained: boolean }).drained === false);
      expect(u.data).toMatchObject({ nodeId: 'dfi-a', by: null });
    } finally {
      all.close();
      dfi.close();
    }
  });

  it('when nothing happens, then a comment keeps the stream alive every `heartbeat` seconds', async () => {
    const s = await openStream(base, '/v1/events?heartbeat=1');
    try {
      const hb = await s.next((m) => m.comment !== undefined && m.comment.startsWith('keep-alive'), 2_500);
      expect(hb.event).toBeUndefined();
    } finally {
      s.close();
    }
  });

  it('when a client reconnects with Last-Event-ID, then it gets what it missed while the events are buffered', async () => {
    const keeper = await openStream(base, '/v1/events');
    const first = await openStream(base, '/v1/events?chain=defichain');
    try {
      await keeper.next((m) => m.event === 'hello');
      const auth = { authorization: `Bearer ${TOKEN}` };
      await request(h.app).post('/v1/nodes/dfi-a/drain').set(auth).expect(200);
      const seen = await first.next((m) => m.event === 'drain');
      first.close();
      await request(h.app).delete('/v1/nodes/dfi-a/drain').set(auth).expect(200);
      await keeper.next(
        (m) =>
          m.event === 'drain' &&
          (m.data as { drained: boolean; nodeId: string }).drained === false &&
          (m.data as { nodeId: string }).nodeId === 'dfi-a',
      );
      const again = await openStream(base, '/v1/events?chain=defichain', { 'last-event-id': seen.id! });
      try {
        const hello = await again.next((m) => m.event === 'hello');
        expect(hello.data).toMatchObject({ resumed: true });
        const missed = await again.next((m) => m.event === 'drain');
        expect(missed.data).toMatchObject({ nodeId: 'dfi-a', drained: false });
      } finally {
        again.close();
      }
      const foreign = await openStream(base, '/v1/events', { 'last-event-id': '000000-1' });
      try {
        expect((await foreign.next((m) => m.event === 'hello')).data).toMatchObject({ resumed: false });
      } finally {
        foreign.close();
      }
    } finally {
      keeper.close();
    }
  });

  it('when clients disconnect, then no fleet-view listener is left behind', async () => {
    await until(() => listeners.active() === 0);
    const streams = await Promise.all([1, 2, 3].map(() => openStream(base, '/v1/events')));
    await Promise.all(streams.map((s) => s.next((m) => m.event === 'hello')));
    // One listener for the whole feed, however many clients.
    expect(listeners.active()).toBe(1);
    streams[0]!.close();
    streams[1]!.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(listeners.active()).toBe(1);
    streams[2]!.close();
    await until(() => listeners.active() === 0);
    // And a new client still gets events.
    const s = await openStream(base, '/v1/events');
    try {
      await s.next((m) => m.event === 'hello');
      await request(h.app).post('/v1/nodes/bsc-b/drain').set('authorization', `Bearer ${TOKEN}`).expect(200);
      await s.next((m) => m.event === 'drain');
      await request(h.app).delete('/v1/nodes/bsc-b/drain').set('authorization', `Bearer ${TOKEN}`).expect(200);
    } finally {
      s.close();
    }
    await until(() => listeners.active() === 0);
  });

  it('when asked with HEAD, then the headers come and the response ends', async () => {
    const r = await request(h.app).head('/v1/events').expect(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  it.each([['chain=nochain'], ['heartbeat=0'], ['heartbeat=301'], ['chain=bsc&chain=bsc'], ['since=1']])(
    'when the query is %s, then 400 problem, not a stream',
    async (q) => {
      const r = await request(h.app).get(`/v1/events?${q}`).expect(400);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    },
  );

  // Runs after the tests above (jest keeps a file's order): their streams saw every event type.
  it('when the streams above are read back, then every data line parses with the schema of its event', () => {
    const schemas: Record<string, z.ZodType> = {
      hello: HelloEvent,
      transition: TransitionEvent,
      drain: DrainEvent,
      selection: SelectionEvent,
    };
    const counts: Record<string, number> = {};
    for (const m of received) {
      if (m.event === undefined) continue;
      const schema = schemas[m.event];
      expect({ event: m.event, known: schema !== undefined }).toEqual({ event: m.event, known: true });
      const parsed = schema!.safeParse(m.data);
      expect({ event: m.event, data: m.data, issues: parsed.error?.issues ?? [] }).toEqual({
        event: m.event,
        data: m.data,
        issues: [],
      });
      counts[m.event] = (counts[m.event] ?? 0) + 1;
    }
    // Each type was seen, so none of them passed for want of an example.
    expect(Object.keys(counts).sort()).toEqual(['drain', 'hello', 'selection', 'transition']);
  });
});

describe('GET /v1/events at shutdown', () => {
  it('when the app closes, then open streams end and new ones are refused', async () => {
    const h = await startHarness({ specs: [{ id: 'bsc-a', kind: 'bsc' }] });
    const listeners = countListeners(h);
    const { server, base } = await listen(h);
    try {
      const s = await openStream(base, '/v1/events');
      await s.next((m) => m.event === 'hello');
      const ended = new Promise<void>((r) => s.res.on('end', () => r()));
      await h.close();
      await ended;
      expect(listeners.active()).toBe(0);
      await request(h.app).get('/v1/events').expect(503);
    } finally {
      await stop(server);
    }
  });
});
