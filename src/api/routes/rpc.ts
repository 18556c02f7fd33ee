// `POST /rpc/<chain>[/<node>]`: HTTP in and out of the JSON-RPC proxy.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import { Agent } from 'undici';
import { errorReply, ProxyError, ProxyErrorCode } from '../../proxy/proxy-error.js';
import { RpcProxy, type ProxyAnswer } from '../../proxy/rpc-proxy.js';
import type { ApiContext } from '../api-context.js';
import { secretMatches } from '../auth.js';
import { type FastRoute, routePattern } from '../fast-path.js';

const EVM_CONTENT_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest']);
const SESSION_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RpcFace {
  /** `POST /rpc/<chain>[/<node>]` and `POST /wallet/<chain>`, answered on the fast path in front of express. */
  readonly fastRoutes: FastRoute[];
  /** What express still answers: other methods (a 405 JSON-RPC error). */
  readonly router: Router;
}

/**
 * `POST /rpc/<chain>` and `POST /rpc/<chain>/<node>`: the JSON-RPC proxy (src/proxy). This
 * module only translates HTTP: reads the body under its cap, checks the API key, and writes
 * back the proxy's answer. Every refusal is a JSON-RPC error in the chain's dialect.
 *
 * The POSTs are answered on the fast path, before express's router and middleware: through
 * them the proxy ran at a quarter of a bare Node forwarder (bench/RESULTS.md, issue #15). Every
 * call still gets its access-log line and its request metrics there.
 */
export function rpcRoutes(ctx: ApiContext): RpcFace {
  const router = Router();
  const settings = ctx.service.settings;
  if (!settings.rpc.enabled) return { fastRoutes: [], router };
  // A pool of its own: backend traffic must not queue behind (or starve) the probes.
  const dispatcher = new Agent({
    connections: 64,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: Math.min(2_000, settings.rpc.attemptTimeoutMs) },
  });
  const poller = ctx.service.poller;
  const proxy = new RpcProxy({
    read: ctx.read,
    resolver: ctx.best,
    settings: settings.rpc,
    store: ctx.service.store,
    dispatcher,
    logger: ctx.logger,
    // Passive health: a node failing real traffic is re-probed at once by this replica's poller.
    passive: { onNodeFailure: (nodeId) => poller?.recheckSoon(nodeId) },
    metrics: ctx.proxyMetrics,
    now: ctx.now,
  });
  ctx.onClose(() => void dispatcher.close());
  const maxBody = settings.rpc.maxBodyBytes;

  const handler = async (req: IncomingMessage, res: ServerResponse, chain: string, node?: string): Promise<void> => {
    const family = proxy.familyOf(chain);
    const version = family === 'bitcoin' ? '1.0' : '2.0';
    const key = settings.apiKey;
    let presented: string | undefined;
    if (key !== undefined) {
      presented = presentedKey(req);
      if (presented === undefined)
        return send(
          res,
          own(
            new ProxyError(ProxyErrorCode.Unauthorized, 'send X-API-Key: <key> (or Authorization: Bearer <key>)'),
            version,
          ),
        );
      if (!secretMatches(presented, key))
        return send(res, own(new ProxyError(ProxyErrorCode.Forbidden, 'the API key is not valid'), version));
    }
    if (family === 'evm') {
      // As geth: JSON only, which also keeps browsers from posting here without a preflight.
      const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
      if (!EVM_CONTENT_TYPES.has(type))
        return send(
          res,
          own(new ProxyError(ProxyErrorCode.UnsupportedMediaType, 'content type must be application/json'), version),
        );
    }
    const body = await readBody(req, maxBody);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return send(
        res,
        own(
          new ProxyError(ProxyErrorCode.BodyTooLarge, `request body larger than ${maxBody} bytes`, {
            data: { maxBytes: maxBody },
          }),
          version,
        ),
      );
    }
    const minHeadText = req.headers['x-nodesentry-min-head'];
    const minHead = typeof minHeadText === 'string' ? parseHead(minHeadText) : undefined;
    if (minHead === null)
      return send(
        res,
        own(
          new ProxyError(
            ProxyErrorCode.InvalidRequest,
            'x-nodesentry-min-head must be a block number (decimal or 0x hex)',
          ),
          version,
        ),
      );
    const session = req.headers['x-nodesentry-session'];
    if (session !== undefined && (typeof session !== 'string' || !SESSION_PATTERN.test(session))) {
      return send(
        res,
        own(
          new ProxyError(
            ProxyErrorCode.InvalidRequest,
            'x-nodesentry-session must be 1-128 characters of A-Z a-z 0-9 . _ : -',
          ),
          version,
        ),
      );
    }
    const answer = await proxy.handle({
      chain,
      ...(node === undefined ? {} : { node }),
      body,
      // The key itself (hashed by the limiter before it reaches the store), else the address.
      identity: presented !== undefined ? `key:${presented}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`,
      ...(minHead === undefined ? {} : { minHead }),
      ...(session === undefined ? {} : { session }),
    });
    send(res, answer);
  };
  const post = (template: string, handle: FastRoute['handle']): FastRoute => ({
    template,
    pattern: routePattern(template),
    methods: ['POST'],
    logEvery: true,
    handle,
  });
  const fastRoutes = [
    post('/rpc/:chain', (req, res, [chain]) => handler(req, res, chain!).then(() => undefined)),
    post('/rpc/:chain/:node', (req, res, [chain, node]) => handler(req, res, chain!, node).then(() => undefined)),
    // bitcoin-cli (and defi-cli, paicoin-cli) can only choose a path through -rpcwallet, which
    // posts to /wallet/<name>: `-rpcwallet=defichain` reaches the defichain proxy. Bitcoin family only.
    post('/wallet/:chain', (req, res, [chain]) => {
      if (proxy.familyOf(chain!) !== 'bitcoin') {
        send(
          res,
          own(
            new ProxyError(
              ProxyErrorCode.ChainNotFound,
              'no Bitcoin-family chain of that name (use -rpcwallet=<chain>)',
            ),
            '1.0',
          ),
        );
        return undefined;
      }
      return handler(req, res, chain!).then(() => undefined);
    }),
  ];
  router.all(['/rpc/:chain', '/rpc/:chain/:node'], (req, res) => {
    res.setHeader('allow', 'POST');
    send(
      res,
      own(
        new ProxyError(ProxyErrorCode.InvalidRequest, `${req.method} is not supported: JSON-RPC is POST only`),
        proxy.familyOf(String(req.params.chain)) === 'bitcoin' ? '1.0' : '2.0',
        405,
      ),
    );
  });
  return { fastRoutes, router };
}

function own(err: ProxyError, version: '1.0' | '2.0', status = err.httpStatus): ProxyAnswer {
  return {
    status,
    contentType: 'application/json',
    body: JSON.stringify(errorReply(err, null, version)),
    headers: err.retryAfterS === undefined ? {} : { 'retry-after': String(err.retryAfterS) },
  };
}

function send(res: ServerResponse, a: ProxyAnswer): void {
  res.statusCode = a.status;
  for (const name in a.headers) res.setHeader(name, a.headers[name]!);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-type', a.contentType);
  res.end(a.body);
}

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (m) return m[1];
  // Bitcoin-family CLIs send only Basic auth: the key as -rpcpassword (any -rpcuser).
  const b = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
  if (!b) return undefined;
  const decoded = Buffer.from(b[1]!, 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  return sep < 0 ? undefined : decoded.slice(sep + 1);
}

/** undefined: the head is absent; null: present but not a block number. */
function parseHead(text: string): number | null | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = /^0x[0-9a-f]{1,13}$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d{1,15}$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** The body as text, or undefined once it exceeds `max` bytes (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over)
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    });
    req.on('error', reject);
  });
}
