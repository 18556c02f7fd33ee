// The simulator's HTTP control API under /_sim/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from './listener.js';
import type { SimNodeSpec } from './sim-node-spec.js';
import type { Fault } from './fault.js';
import { SimulatorError, SimulatorErrorCode } from './simulator-error.js';

const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

const STATUS_BY_CODE: Readonly<Record<SimulatorErrorCode, number>> = Object.freeze({
  SIM_INVALID_SPEC: 400,
  SIM_INVALID_FAULT: 400,
  SIM_INVALID_OPTIONS: 400,
  SIM_NOT_OWN_PORT: 400,
  SIM_NO_COOKIE: 400,
  SIM_UNKNOWN_NODE: 404,
  SIM_DUPLICATE_NODE: 409,
  SIM_LISTEN_FAILED: 500,
  SIM_CLOSED: 503,
});

/** One node as the control API lists it. */
export interface NodeSummary {
  id: string;
  kind: string;
  url: string;
  ownPort: boolean;
  fault: unknown;
  peers: unknown;
  height: number;
  stats: { requests: number; calls: Record<string, number> };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the control API drives: a Simulator (simulator.ts imports this module, not the reverse). */
export interface ControlledSimulator {
  nodeIds(): string[];
  node(id: string): Readonly<SimNodeSpec> | undefined;
  url(id: string): string;
  height(id: string): number;
  stats(id?: string): { requests: number; calls: Record<string, number> };
  resetStats(): void;
  addNode(spec: SimNodeSpec): Promise<void>;
  removeNode(id: string): Promise<void>;
  setFault(id: string, fault: Fault): Promise<void>;
  setPeers(id: string, peers: { inbound: number; outbound: number }): void;
  setHeight(id: string, height: number): void;
  rotateCookie(id: string): Promise<void>;
  stopNode(id: string): Promise<void>;
  startNode(id: string): Promise<void>;
}

/**
 * The simulator's HTTP control API under `/_sim/`, for the demo, benchmarks and soak runs in
 * another process. Only translates HTTP to `Simulator` calls; errors come back as
 * `{"error":{"code","message"}}` with a status from the error's code.
 *
 *   GET    /_sim/nodes                      list (id, kind, url, fault, peers, height, stats)
 *   POST   /_sim/nodes                      add (body: SimNodeSpec)          -> 201
 *   GET    /_sim/nodes/:id                  one node
 *   DELETE /_sim/nodes/:id                  remove                           -> 204
 *   PUT    /_sim/nodes/:id/fault            body: Fault                      -> 204
 *   PUT    /_sim/nodes/:id/peers            body: { inbound, outbound }      -> 204
 *   PUT    /_sim/nodes/:id/height           body: { height }                 -> 204
 *   POST   /_sim/nodes/:id/rotate-cookie | stop | start                      -> 204
 *   GET    /_sim/stats                      totals; POST /_sim/stats/reset   -> 204
 */
export function createControlApi(sim: ControlledSimulator): RequestHandler {
  return (req, res) => {
    route(sim, req).then(
      (result) => reply(res, result.status, result.body),
      (err: unknown) => {
        if (err instanceof HttpError)
          return reply(res, err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof SimulatorError)
          return reply(res, STATUS_BY_CODE[err.code] ?? 500, { error: { code: err.code, message: err.message } });
        return reply(res, 500, {
          error: { code: 'SIM_INTERNAL', message: err instanceof Error ? err.message : String(err) },
        });
      },
    );
  };
}

type Result = { status: number; body?: unknown };

async function route(sim: ControlledSimulator, req: IncomingMessage): Promise<Result> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  let parts: string[];
  try {
    parts = path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p));
  } catch {
    throw notFound();
  }
  const method = req.method ?? 'GET';
  const [, collection, id, action, ...rest] = parts;
  if (rest.length > 0) throw notFound();

  if (collection === undefined)
    return only(method, 'GET', () => ({ status: 200, body: { nodes: '/_sim/nodes', stats: '/_sim/stats' } }));

  if (collection === 'stats') {
    if (id === undefined) return only(method, 'GET', () => ({ status: 200, body: sim.stats() }));
    if (id === 'reset' && action === undefined) {
      return only(method, 'POST', () => {
        sim.resetStats();
        return { status: 204 };
      });
    }
    throw notFound();
  }
  if (collection !== 'nodes') throw notFound();

  if (id === undefined) {
    if (method === 'GET') return { status: 200, body: { nodes: sim.nodeIds().map((n) => summary(sim, n)) } };
    if (method === 'POST') {
      const spec = (await readJson(req)) as SimNodeSpec;
      await sim.addNode(spec);
      return { status: 201, body: summary(sim, spec.id) };
    }
    throw notAllowed();
  }

  if (action === undefined) {
    if (method === 'GET') {
      if (sim.node(id) === undefined)
        throw new SimulatorError(SimulatorErrorCode.UnknownNode, `no node ${JSON.stringify(id)}`);
      return { status: 200, body: summary(sim, id) };
    }
    if (method === 'DELETE') {
      await sim.removeNode(id);
      return { status: 204 };
    }
    throw notAllowed();
  }

  switch (action) {
    case 'fault':
      if (method !== 'PUT') throw notAllowed();
      // Wait for an ownPort listener to close or reopen, so the caller can test right away.
      await sim.setFault(id, (await readJson(req)) as never);
      return { status: 204 };
    case 'peers':
      if (method !== 'PUT') throw notAllowed();
      sim.setPeers(id, (await readJson(req)) as never);
      return { status: 204 };
    case 'height': {
      if (method !== 'PUT') throw notAllowed();
      const body = (await readJson(req)) as { height?: unknown } | null;
      const height = body?.height;
      if (typeof height !== 'number')
        throw new HttpError(400, 'SIM_INVALID_SPEC', 'body must be { "height": <integer> }');
      sim.setHeight(id, height);
      return { status: 204 };
    }
    case 'rotate-cookie':
    case 'stop':
    case 'start':
      if (method !== 'POST') throw notAllowed();
      if (action === 'rotate-cookie') await sim.rotateCookie(id);
      else if (action === 'stop') await sim.stopNode(id);
      else await sim.startNode(id);
      return { status: 204 };
    default:
      throw notFound();
  }
}

function summary(sim: ControlledSimulator, id: string): NodeSummary {
  const spec = sim.node(id);
  if (spec === undefined) throw new SimulatorError(SimulatorErrorCode.UnknownNode, `no node ${JSON.stringify(id)}`);
  return {
    id,
    kind: spec.kind,
    url: sim.url(id),
    ownPort: spec.ownPort ?? false,
    fault: spec.fault,
    peers: spec.peers,
    height: sim.height(id),
    stats: sim.stats(id),
  };
}

function only(method: string, allowed: string, run: () => Result): Result {
  if (method !== allowed) throw notAllowed();
  return run();
}

function notFound(): HttpError {
  return new HttpError(404, 'SIM_NOT_FOUND', 'no such control endpoint');
}

function notAllowed(): HttpError {
  return new HttpError(405, 'SIM_METHOD_NOT_ALLOWED', 'method not allowed on this control endpoint');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY_BYTES)
      throw new HttpError(413, 'SIM_BODY_TOO_LARGE', `control request body over ${MAX_CONTROL_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'SIM_BAD_JSON', 'control request body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  if (status === 204 || body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
