// The node simulator: many simulated BSC, DeFiChain, PAI and Bitcoin Core nodes over HTTP, with every fault.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { answerBitcoin } from './bitcoin-dialect.js';
import { buildClientProfile, type ClientProfile } from './client-profile.js';
import { createControlApi } from './control-api.js';
import { answerEvm } from './evm-dialect.js';
import { parseFault, type Fault } from './fault.js';
import { emptyAnswer, jsonAnswer, textAnswer, type HttpAnswer } from './http-answer.js';
import { Listener, type RequestHandler } from './listener.js';
import { writeAnswer, writeDrip, writeMalformed, writeOversized, writeTruncated } from './response-writer.js';
import { SimNode } from './sim-node.js';
import { KIND_DEFAULTS, parsePeers, parseSpec, type SimKind, type SimNodeSpec } from './sim-node-spec.js';
import { SimulatorError, SimulatorErrorCode } from './simulator-error.js';

export interface SimulatorOptions {
  /** Loopback address to bind; default 127.0.0.1. Nothing else is accepted: no traffic leaves the host. */
  host?: string;
  /** Shared port for every node without `ownPort` and for the control API; default 0 (ephemeral). */
  port?: number;
  /** Nodes to add before `start` resolves. */
  nodes?: SimNodeSpec[];
  /** Delay before a 401 for wrong credentials (bitcoind sleeps 250 ms to deter brute force); default 250 ms. */
  authDelayMs?: number;
  /** Clock for heights, timestamps and traffic counters, epoch ms; default Date.now. Delays use real timers. */
  now?: () => number;
  /** Seed of peer lists and traffic figures; default 1. */
  seed?: number;
}

export interface SimStats {
  /** HTTP requests that reached a node (a batch is one). */
  requests: number;
  /** Calls per JSON-RPC method that the node read (a batch of n is n calls). */
  calls: Record<string, number>;
}

/** geth's `maxRequestContentLength`. */
const EVM_MAX_BODY_BYTES = 5 * 1024 * 1024;
/** libevent's body cap in bitcoind (MAX_SIZE). */
const BITCOIN_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_AUTH_DELAY_MS = 250;
const EVM_CONTENT_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest']);
const TEXT_PLAIN = 'text/plain; charset=utf-8';

const UNAUTHORIZED = emptyAnswer(401, Object.freeze({ 'www-authenticate': 'Basic realm="jsonrpc"' }));
const NOT_FOUND = textAnswer(404, '404 page not found\n', TEXT_PLAIN);
const NO_BATCH = jsonAnswer(400, {
  jsonrpc: '2.0',
  id: null,
  error: { code: -32600, message: 'batch requests are not supported' },
});
const TOO_LARGE = Symbol('too large');

/**
 * Thousands of simulated BSC / DeFiChain / PAI / Bitcoin Core nodes behind one real HTTP server,
 * each answering in its client's own dialect, with faults that can be switched at run time.
 * Nodes live at `/n/<id>` on the shared port (or on a port of their own); `/_sim/` is the
 * control API. Binds to loopback only.
 */
export class Simulator {
  readonly #host: string;
  readonly #urlHost: string;
  readonly #authDelayMs: number;
  readonly #now: () => number;
  readonly #seed: number;
  readonly #nodes = new Map<string, SimNode>();
  readonly #profiles = new Map<string, ClientProfile>();
  readonly #timers = new Map<NodeJS.Timeout, (completed: boolean) => void>();
  readonly #shared: Listener;
  readonly #control: RequestHandler;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(opts: SimulatorOptions) {
    const host = opts.host ?? '127.0.0.1';
    if (!isLoopback(host))
      throw new SimulatorError(SimulatorErrorCode.InvalidOptions, 'invalid host', {
        details: `${host} is not a loopback address`,
      });
    const authDelayMs = opts.authDelayMs ?? DEFAULT_AUTH_DELAY_MS;
    if (!Number.isInteger(authDelayMs) || authDelayMs < 0)
      throw new SimulatorError(SimulatorErrorCode.InvalidOptions, 'invalid authDelayMs', {
        details: 'must be an integer >= 0',
      });
    if (opts.seed !== undefined && !Number.isInteger(opts.seed))
      throw new SimulatorError(SimulatorErrorCode.InvalidOptions, 'invalid seed', { details: 'must be an integer' });
    this.#host = host;
    this.#urlHost = isIP(host) === 6 ? `[${host}]` : host;
    this.#authDelayMs = authDelayMs;
    this.#now = opts.now ?? Date.now;
    this.#seed = opts.seed ?? 1;
    this.#shared = new Listener(this.#onSharedRequest);
    this.#control = createControlApi(this);
  }

  static async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new SimulatorError(SimulatorErrorCode.InvalidOptions, 'invalid port', {
        details: 'must be an integer in [0, 65535]',
      });
    const sim = new Simulator(opts);
    try {
      await sim.#shared.listen(sim.#host, port);
      for (const spec of opts.nodes ?? []) await sim.addNode(spec);
    } catch (err) {
      await sim.close();
      if (err instanceof SimulatorError) throw err;
      throw new SimulatorError(SimulatorErrorCode.Listen, `cannot listen on ${sim.#urlHost}:${port}`, {
        cause: err,
        details: (err as NodeJS.ErrnoException).code ?? String(err),
      });
    }
    return sim;
  }

  /** The shared port (nodes at `/n/<id>`, control API at `/_sim/`). */
  get port(): number {
    return this.#shared.port ?? 0;
  }

  /** Credential-free URL of a node. */
  url(id: string): string {
    const node = this.#get(id);
    return node.ownPort
      ? `http://${this.#urlHost}:${node.port ?? 0}/`
      : `http://${this.#urlHost}:${this.port}/n/${node.id}`;
  }

  /** The URL with `user:password@` for nodes that need credentials (cookie nodes: the current cookie). */
  urlWithCredentials(id: string): string {
    const node = this.#get(id);
    const url = this.url(id);
    const userPass = node.authUserPass;
    if (userPass === undefined) return url;
    const sep = userPass.indexOf(':');
    const auth = `${encodeURIComponent(userPass.slice(0, sep))}:${encodeURIComponent(userPass.slice(sep + 1))}@`;
    return url.replace('://', `://${auth}`);
  }

  async addNode(spec: SimNodeSpec): Promise<void> {
    this.#assertOpen();
    const parsed = parseSpec(spec);
    if (this.#nodes.has(parsed.id))
      throw new SimulatorError(SimulatorErrorCode.DuplicateNode, `node ${parsed.id} already exists`);
    const node = new SimNode(parsed, this.#profile(parsed.kind, parsed.version), this.#seed, this.#now());
    // Reserve the id before the first await, so two concurrent adds of one id cannot both win.
    this.#nodes.set(node.id, node);
    try {
      if (node.cookieFile !== undefined) await this.#writeCookie(node);
      if (node.ownPort) {
        node.listener = new Listener((req, res) => this.#serve(node, req, res));
        node.port = await node.listener.listen(this.#host, 0);
        if (node.fault.type === 'down') await node.listener.close();
      }
    } catch (err) {
      this.#nodes.delete(node.id);
      await node.listener?.close();
      if (err instanceof SimulatorError) throw err;
      throw new SimulatorError(SimulatorErrorCode.Listen, `cannot set up node ${node.id}`, {
        cause: err,
        details: (err as NodeJS.ErrnoException).code ?? String(err),
      });
    }
  }

  /** Later requests get 404 (shared port) or connection refused (own port); hung requests are dropped. */
  async removeNode(id: string): Promise<void> {
    const node = this.#get(id);
    node.removed = true;
    this.#nodes.delete(id);
    dropHung(node);
    if (node.listener) await this.#syncListener(node);
    // bitcoind deletes its cookie on shutdown.
    if (node.cookieFile !== undefined) await rm(node.cookieFile, { force: true });
  }

  /**
   * Switches a node's fault. Returns at once for every fault but the listener changes of
   * ownPort nodes (`down` and back): the returned promise settles when the port is closed or
   * listening again. It never rejects; `startNode` reports a port that cannot be reopened.
   */
  setFault(id: string, fault: Fault): Promise<void> {
    const node = this.#get(id);
    const parsed = parseFault(fault);
    if (parsed.type === 'down' && !node.ownPort) {
      throw new SimulatorError(SimulatorErrorCode.InvalidFault, 'invalid fault', {
        details: `down needs a node with ownPort; ${id} shares the port`,
      });
    }
    node.setFault(parsed, this.#now());
    return node.listener ? this.#syncListener(node) : Promise.resolve();
  }

  setPeers(id: string, peers: { inbound: number; outbound: number }): void {
    const node = this.#get(id);
    const parsed = parsePeers(peers, `peers of ${id}`);
    node.inbound = parsed.inbound;
    node.outbound = parsed.outbound;
  }

  /** The head jumps to `height` now and keeps growing from there. */
  setHeight(id: string, height: number): void {
    const node = this.#get(id);
    if (!Number.isSafeInteger(height) || height < 0)
      throw new SimulatorError(SimulatorErrorCode.InvalidSpec, 'invalid height', {
        details: 'must be an integer >= 0',
      });
    node.setHeight(height, this.#now());
  }

  /** The node's best block as it would report it now (behind the head while syncing). */
  height(id: string): number {
    return this.#get(id).bestHeight(this.#now());
  }

  /** Writes a new cookie; the old one gets 401 from the moment this resolves. */
  async rotateCookie(id: string): Promise<void> {
    const node = this.#get(id);
    if (node.cookieFile === undefined)
      throw new SimulatorError(SimulatorErrorCode.NoCookie, `node ${id} does not use a cookie file`);
    await this.#writeCookie(node);
  }

  /** ownPort nodes: close the listener (connection refused) until `startNode`. The fault is kept. */
  async stopNode(id: string): Promise<void> {
    const node = this.#ownPortNode(id);
    node.running = false;
    await this.#syncListener(node);
  }

  /** ownPort nodes: listen again on the same port (unless the fault is `down`). */
  async startNode(id: string): Promise<void> {
    const node = this.#ownPortNode(id);
    node.running = true;
    await this.#syncListener(node);
    if (node.listenerError !== undefined) {
      const cause = node.listenerError;
      throw new SimulatorError(SimulatorErrorCode.Listen, `cannot reopen port ${node.port ?? 0} of node ${id}`, {
        cause,
        details: (cause as NodeJS.ErrnoException).code ?? String(cause),
      });
    }
  }

  stats(id?: string): SimStats {
    if (id !== undefined) {
      const node = this.#get(id);
      return { requests: node.requests, calls: { ...node.calls } };
    }
    // A Map, then fromEntries: method names come from clients ("__proto__" included).
    const calls = new Map<string, number>();
    let requests = 0;
    for (const node of this.#nodes.values()) {
      requests += node.requests;
      if (node.calls === undefined) continue;
      for (const [method, n] of Object.entries(node.calls)) calls.set(method, (calls.get(method) ?? 0) + n);
    }
    return { requests, calls: Object.fromEntries(calls) };
  }

  resetStats(): void {
    for (const node of this.#nodes.values()) {
      node.requests = 0;
      node.calls = undefined;
    }
  }

  node(id: string): Readonly<SimNodeSpec> | undefined {
    return this.#nodes.get(id)?.currentSpec();
  }

  nodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Destroys every socket (hung requests included), stops every timer, deletes cookie files. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve(false);
    }
    this.#timers.clear();
    const nodes = [...this.#nodes.values()];
    await Promise.all(nodes.filter((n) => n.listener !== undefined).map((n) => this.#syncListener(n)));
    await this.#shared.close();
    await Promise.all(
      nodes
        .filter((n) => n.cookieFile !== undefined)
        .map((n) => rm(n.cookieFile as string, { force: true }).catch(() => undefined)),
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new SimulatorError(SimulatorErrorCode.Closed, 'simulator is closed');
  }

  #get(id: string): SimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new SimulatorError(SimulatorErrorCode.UnknownNode, `no node ${JSON.stringify(id)}`);
    return node;
  }

  #ownPortNode(id: string): SimNode {
    this.#assertOpen();
    const node = this.#get(id);
    if (!node.ownPort)
      throw new SimulatorError(
        SimulatorErrorCode.NotOwnPort,
        `node ${id} shares the simulator's port; only ownPort nodes can be stopped`,
      );
    return node;
  }

  #profile(kind: SimKind, version: string | undefined): ClientProfile {
    const v = version ?? KIND_DEFAULTS[kind].version;
    const key = `${kind}@${v}`;
    let profile = this.#profiles.get(key);
    if (profile === undefined) {
      profile = buildClientProfile(kind, v);
      this.#profiles.set(key, profile);
    }
    return profile;
  }

  async #writeCookie(node: SimNode): Promise<void> {
    const file = node.cookieFile as string;
    const cookie = `__cookie__:${randomBytes(32).toString('hex')}`;
    await mkdir(dirname(file), { recursive: true });
    // Write aside and rename, as bitcoind does, so a reader never sees half a cookie.
    const tmp = `${file}.tmp`;
    await writeFile(tmp, cookie, { mode: 0o600 });
    await rename(tmp, file);
    node.authUserPass = cookie;
  }

  /** Opens or closes an ownPort node's listener to match its state; changes run in order. */
  #syncListener(node: SimNode): Promise<void> {
    const op = node.listenerOp.then(async () => {
      const listener = node.listener;
      if (listener === undefined) return;
      const wanted = !this.#closed && !node.removed && node.running && node.fault.type !== 'down';
      if (wanted && !listener.listening) {
        try {
          await listener.listen(this.#host, node.port ?? 0);
          node.listenerError = undefined;
        } catch (err) {
          node.listenerError = err;
        }
      } else if (!wanted && listener.listening) {
        await listener.close();
      }
    });
    node.listenerOp = op;
    return op;
  }

  /** Resolves true after `ms`, false at once or later if the simulator closes. */
  #sleep = (ms: number): Promise<boolean> => {
    if (this.#closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve(true);
      }, ms);
      this.#timers.set(timer, resolve);
    });
  };

  #onSharedRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    if (url.startsWith('/n/')) {
      const end = url.slice(3).search(/[/?]/);
      const node = this.#nodes.get(end === -1 ? url.slice(3) : url.slice(3, 3 + end));
      if (node !== undefined && !node.ownPort) {
        this.#serve(node, req, res);
        return;
      }
    } else if (url === '/_sim' || url.startsWith('/_sim/') || url.startsWith('/_sim?')) {
      this.#control(req, res);
      return;
    }
    req.resume();
    writeAnswer(res, NOT_FOUND);
  };

  #serve(node: SimNode, req: IncomingMessage, res: ServerResponse): void {
    this.#serveNode(node, req, res).catch(() => {
      // A bug here must not take the whole fleet down; the client sees a reset.
      res.destroy();
    });
  }

  async #serveNode(node: SimNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
    node.requests++;
    // Faults are read once: a request keeps the fault it arrived under.
    const fault = node.fault;
    if (fault.type === 'reset' || fault.type === 'down') {
      req.socket.destroy();
      return;
    }
    if (fault.type === 'hang') {
      (node.hung ??= new Set()).add(res);
      res.once('close', () => node.hung?.delete(res));
      const body = await readBody(req, BITCOIN_MAX_BODY_BYTES);
      if (typeof body === 'string') countCalls(node, body);
      return;
    }
    const evm = node.family === 'evm';
    if (fault.type === 'forbidden') {
      // geth's Host check writes its reason; bitcoind's rpcallowip check answers with nothing.
      await this.#sendPlain(
        node,
        req,
        res,
        fault,
        evm ? textAnswer(403, 'invalid host specified\n', TEXT_PLAIN) : emptyAnswer(403),
      );
      return;
    }
    if (fault.type === 'http') {
      await this.#sendPlain(node, req, res, fault, proxyAnswer(fault.status, fault.body, fault.contentType));
      return;
    }
    const refused = evm ? evmTransportCheck(req) : bitcoinTransportCheck(req);
    if (refused) {
      await this.#sendPlain(node, req, res, fault, refused);
      return;
    }
    if (node.requiresAuth() || fault.type === 'unauthorized') {
      const given = req.headers.authorization;
      // bitcoind answers a missing header at once and sleeps only on a wrong password.
      if (given === undefined) {
        await this.#sendPlain(node, req, res, fault, UNAUTHORIZED);
        return;
      }
      if (fault.type === 'unauthorized' || !node.acceptsAuthorization(given)) {
        req.resume();
        if (!(await this.#sleep(this.#authDelayMs))) return;
        await this.#sendPlain(node, req, res, fault, UNAUTHORIZED);
        return;
      }
    }
    const body = await readBody(req, evm ? EVM_MAX_BODY_BYTES : BITCOIN_MAX_BODY_BYTES);
    if (body === undefined) return;
    if (body === TOO_LARGE) {
      res.shouldKeepAlive = false;
      await this.#sendPlain(
        node,
        req,
        res,
        fault,
        evm ? textAnswer(413, 'request body too large\n', TEXT_PLAIN) : emptyAnswer(413),
      );
      return;
    }
    if ((fault.type === 'no-batch' || !node.batch) && /^\s*\[/.test(body)) {
      await this.#sendPlain(node, req, res, fault, NO_BATCH);
      return;
    }
    const now = this.#now();
    const answer = evm ? answerEvm(node, body, now) : answerBitcoin(node, body, now);
    if (!(await this.#delay(node, fault))) return;
    switch (fault.type) {
      case 'malformed':
        writeMalformed(res, answer);
        return;
      case 'truncated':
        writeTruncated(res, answer);
        return;
      case 'oversized':
        await writeOversized(res, answer, fault.bytes);
        return;
      case 'drip':
        await writeDrip(res, answer, fault.chunkIntervalMs, this.#sleep);
        return;
      default:
        writeAnswer(res, answer);
    }
  }

  /** The node's latency plus a `slow` fault's delay; false if the simulator closed meanwhile. */
  #delay(node: SimNode, fault: Fault): Promise<boolean> {
    return this.#sleep(node.latencyMs + (fault.type === 'slow' ? fault.delayMs : 0));
  }

  /** Transport-level answers (401, 403, 405, ...): delayed like any other, never reshaped by faults. */
  async #sendPlain(
    node: SimNode,
    req: IncomingMessage,
    res: ServerResponse,
    fault: Fault,
    answer: HttpAnswer,
  ): Promise<void> {
    req.resume();
    if (!(await this.#delay(node, fault))) return;
    writeAnswer(res, answer);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** geth's `validateRequest` and its health-check shortcut, in its order. */
function evmTransportCheck(req: IncomingMessage): HttpAnswer | undefined {
  const method = req.method ?? 'GET';
  // "Permit dumb empty requests for remote health-checks (AWS)".
  if (method === 'GET' && !hasBody(req) && !(req.url ?? '').includes('?')) return emptyAnswer(200);
  if (method !== 'POST' && method !== 'GET') return textAnswer(405, 'method not allowed\n', TEXT_PLAIN);
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > EVM_MAX_BODY_BYTES)
    return textAnswer(413, `content length too large (${length}>${EVM_MAX_BODY_BYTES})\n`, TEXT_PLAIN);
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (!EVM_CONTENT_TYPES.has(type))
    return textAnswer(415, 'invalid content type, only application/json is supported\n', TEXT_PLAIN);
  return undefined;
}

function bitcoinTransportCheck(req: IncomingMessage): HttpAnswer | undefined {
  if (req.method !== 'POST')
    return textAnswer(405, 'JSONRPC server handles only POST requests', 'text/html; charset=ISO-8859-1');
  return undefined;
}

/** What a reverse proxy sends when its upstream fails: nginx's error page unless told otherwise. */
function proxyAnswer(status: number, body: string | undefined, contentType: string | undefined): HttpAnswer {
  const reason = STATUS_TEXT[status] ?? 'Error';
  const page =
    body ??
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  return textAnswer(status, page, contentType ?? 'text/html');
}

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
});

function readBody(req: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: string | typeof TOO_LARGE | undefined): void => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) finish(TOO_LARGE);
      else chunks.push(chunk);
    });
    req.once('end', () => finish(Buffer.concat(chunks, size).toString('utf8')));
    req.once('error', () => finish(undefined));
    req.once('close', () => finish(undefined));
  });
}

/** Counts the calls of a request that will never be answered (`hang`). */
function countCalls(node: SimNode, body: string): void {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return;
  }
  for (const msg of Array.isArray(payload) ? payload : [payload]) {
    if (typeof msg === 'object' && msg !== null && typeof (msg as { method?: unknown }).method === 'string')
      node.countCall((msg as { method: string }).method);
  }
}

function dropHung(node: SimNode): void {
  if (node.hung === undefined) return;
  for (const res of node.hung) res.destroy();
  node.hung.clear();
}
