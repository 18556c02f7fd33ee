// `GET /v1/events`: the Server-Sent Events stream of state changes.
import { Router } from 'express';
import type { ApiContext } from '../api-context.js';
import { requireApiKey } from '../auth.js';
import { EventFeed, type FeedEvent } from '../event-feed.js';
import { problems } from '../problem.js';
import { QueryReader } from '../query.js';
import { SSE_EVENTS, type HelloData } from '../schemas/events.js';

export const EVENTS_DEFAULTS = Object.freeze({
  /** Comment line sent when nothing else was, s: below the idle timeouts of common proxies (nginx 60 s). */
  heartbeatS: 15,
  /** What browsers wait before reconnecting, ms (the SSE `retry:` field). */
  retryMs: 3_000,
  /** A client this far behind (bytes queued in our socket buffer) is cut off, not buffered for ever. */
  maxQueuedBytes: 1024 * 1024,
});

/**
 * `GET /v1/events`: Server-Sent Events for dashboards and operators: `hello` on connect, then
 * `transition`, `drain` and `selection` as they happen, with ids a reconnecting client can
 * resume from (`Last-Event-ID`, while the events are still buffered). Streams end on shutdown.
 */
export function eventsRoutes(ctx: ApiContext): Router {
  const router = Router();
  const apiKey = requireApiKey(ctx.service.settings.apiKey);
  const feed = new EventFeed({ view: ctx.service.view, read: ctx.read });
  const open = new Set<(abort?: boolean) => void>();
  let closed = false;
  ctx.onClose(() => {
    closed = true;
    for (const end of [...open]) end(false);
    feed.close();
  });

  router.get('/v1/events', apiKey, (req, res) => {
    const q = new QueryReader(req.url, ['chain', 'heartbeat']);
    const chain = q.string('chain', {
      maxLength: 64,
      pattern: /^[A-Za-z0-9._-]+$/,
      describe: 'must be a chain name such as bsc or defichain',
    });
    const heartbeatS = q.int('heartbeat', 1, 300, EVENTS_DEFAULTS.heartbeatS);
    if (chain !== undefined && !ctx.read.chainNodes(chain))
      q.reject('chain', `no configured node is on this chain (chains: ${ctx.read.chainNames().join(', ') || 'none'})`);
    q.done();
    if (closed) throw problems.unavailable('shutting down');
    // Each stream holds a socket and a feed subscription for as long as the client likes: bounded.
    const max = ctx.service.settings.maxEventStreams;
    if (open.size >= max) {
      res.set('retry-after', String(Math.ceil(EVENTS_DEFAULTS.retryMs / 1000)));
      throw problems.tooMany(
        `at most ${max} event streams may be open (NODESENTRY_MAX_EVENT_STREAMS); try again later`,
        { maxEventStreams: max },
      );
    }

    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back.
      'x-accel-buffering': 'no',
    });
    // Express serves HEAD with the GET route: answer the headers and stop, or the response
    // would hold a keep-alive connection for ever.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    req.socket.setNoDelay(true);

    let ended = false;
    const end = (abort = false) => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
      // A client that stopped reading would never take what is queued: drop the socket.
      if (abort) res.destroy();
      else res.end();
    };
    const write = (text: string) => {
      if (ended) return;
      res.write(text);
      if (res.writableLength > EVENTS_DEFAULTS.maxQueuedBytes) {
        ctx.logger.warn({ queuedBytes: res.writableLength }, 'SSE client is not reading; closing its stream');
        end(true);
      }
    };
    const send = (e: FeedEvent) => {
      if (chain !== undefined && e.chain !== chain) return;
      write(frame(e.type, e.data, e.id));
    };

    const lastEventId = req.get('last-event-id');
    const replay = lastEventId ? feed.since(lastEventId.slice(0, 64)) : undefined;
    const unsubscribe = feed.subscribe(send);
    const heartbeat = setInterval(() => write(`: keep-alive ${ctx.now()}\n\n`), heartbeatS * 1000);
    heartbeat.unref();
    open.add(end);
    res.on('close', () => end());

    write(`retry: ${EVENTS_DEFAULTS.retryMs}\n\n`);
    write(
      frame('hello', {
        replica: ctx.service.replica,
        at: ctx.now(),
        chain: chain ?? null,
        heartbeatS,
        events: [...SSE_EVENTS],
        lastEventId: feed.lastId,
        resumed: replay !== undefined,
      } satisfies HelloData),
    );
    for (const e of replay ?? []) send(e);
  });

  return router;
}

/** One SSE message; JSON never contains a raw newline, so `data:` is a single line. */
function frame(event: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
