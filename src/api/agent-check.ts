// HAProxy's agent-check protocol on its own TCP port.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { secretMatches } from './auth.js';
import type { NodeAnswer, NodeAnswers } from '../read/node-answers.js';
import { printable } from '../read/printable.js';

/**
 * HAProxy's agent check (`agent-check agent-port <port> agent-send "<node id>\n"`): HAProxy
 * connects, sends the line, reads one ASCII line and applies its words. Unlike an HTTP check,
 * it also sets the server's weight, which is how the ranking reaches HAProxy.
 *
 * HAProxy's parser (`tcpcheck_agent_expect_reply`, measured on 2.6): words split by space, tab
 * or comma, the last word of each kind wins, and a description starts at a word that begins
 * with `#`. So `down #lagging` takes a server down with that reason, while `down#lagging` is one
 * unknown word and changes nothing: every reply below puts a space before `#` (issue #13).
 *
 * | node | reply |
 * |---|---|
 * | healthy | `up ready 98%` (weight: the score, never below 50 %) |
 * | degraded (usable, worse) | `up ready 9%` (a tenth of the score: 1..10 %) |
 * | maintenance (drained) | `drain` (no new sessions), or `maint` with `drained=maint` |
 * | unhealthy / unknown | `down #<first reason>` (e.g. `down #lagging(41 blocks, 31s)`) |
 * | not configured | `down #unknown_node` |
 * | nothing sent within the read timeout | `down #no_node_id` |
 * | no line end within `maxLineBytes` | `down #line_too_long` |
 * | an option it does not know | `down #bad_option(<name>)` |
 * | key missing or wrong (NODESENTRY_PROTECT_PROBES) | `down #unauthorized` |
 *
 * `ready` is in every up reply because only the agent can undo its own `drain` / `maint`:
 * without it a node drained once would stay drained in HAProxy for good.
 */
export function agentReply(answer: NodeAnswer | undefined, opts: AgentReplyOptions = DEFAULT_REPLY_OPTIONS): string {
  if (answer === undefined) return 'down #unknown_node';
  switch (answer.state) {
    case 'healthy':
      return `up ready ${healthyWeightPercent(answer.score)}%`;
    case 'degraded':
      return `up ready ${degradedWeightPercent(answer.score)}%`;
    case 'maintenance':
      return opts.drained;
    case 'unhealthy':
    case 'unknown':
      return `down #${description(answer.reasons[0]?.text ?? answer.state)}`;
  }
}

/** What a drained node answers: HAProxy `drain` (sessions stay) or `maint` (no traffic at all). */
export type AgentDrainedWord = 'drain' | 'maint';

export interface AgentReplyOptions {
  readonly drained: AgentDrainedWord;
}

const DEFAULT_REPLY_OPTIONS: AgentReplyOptions = Object.freeze({ drained: 'drain' });

/**
 * Weights, as a percentage of the server's configured weight. Healthy nodes share the traffic
 * by score but never fall below half of it; degraded nodes get a tenth of their score, so one
 * takes at most a fifth of the traffic of any healthy node (and typically a tenth): they stay
 * in use, as a spare, without a quarter of the requests going to the worse node.
 */
export const HEALTHY_MIN_WEIGHT_PERCENT = 50;
export const DEGRADED_MAX_WEIGHT_PERCENT = 10;

/** A healthy node's weight: its score (0..1) as a percentage, 50..100. Unscored: 100. */
export function healthyWeightPercent(score: number | null): number {
  if (score === null || !Number.isFinite(score)) return 100;
  return Math.min(100, Math.max(HEALTHY_MIN_WEIGHT_PERCENT, Math.round(score * 100)));
}

/** A degraded node's weight: a tenth of its score as a percentage, 1..10 (never 0, which HAProxy reads as drain). */
export function degradedWeightPercent(score: number | null): number {
  if (score === null || !Number.isFinite(score)) return DEGRADED_MAX_WEIGHT_PERCENT;
  return Math.min(DEGRADED_MAX_WEIGHT_PERCENT, Math.max(1, Math.round(score * DEGRADED_MAX_WEIGHT_PERCENT)));
}

const MAX_DESCRIPTION_CHARS = 64;

/** The description after `#`: printable ASCII, one line, short (HAProxy shows it in its stats page). */
function description(text: string): string {
  return printable(text, MAX_DESCRIPTION_CHARS);
}

/** The line HAProxy sends (`agent-send`), parsed: `<node id>[ drained=drain|maint][ key=<api key>]`. */
export type AgentRequest =
  | { readonly ok: true; readonly nodeId: string; readonly drained: AgentDrainedWord; readonly key: string | undefined }
  | { readonly ok: false; readonly reply: string };

export function parseAgentLine(line: string | undefined): AgentRequest {
  const words = line === undefined ? [] : line.split(/[ \t]+/).filter((w) => w !== '');
  const nodeId = words[0];
  if (nodeId === undefined) return { ok: false, reply: 'down #no_node_id' };
  let drained: AgentDrainedWord = 'drain';
  let key: string | undefined;
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (name === 'drained' && (value === 'drain' || value === 'maint')) drained = value;
    else if (name === 'key' && value !== '') key = value;
    // A misspelt option is loud (the server goes down, saying why), like a bad probe query.
    else return { ok: false, reply: `down #bad_option(${printable(name, 24)})` };
  }
  return { ok: true, nodeId, drained, key };
}

export interface AgentCheckOptions {
  readonly port: number;
  readonly host: string;
  readonly answers: NodeAnswers;
  /**
   * NODESENTRY_API_KEY when NODESENTRY_PROTECT_PROBES is on: every line must then carry
   * `key=<key>` (HAProxy: `agent-send "<node id> key=<key>\n"`). Undefined: open.
   */
  readonly apiKey?: string | undefined;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** How long to wait for the node id line, ms. Default 1000 (HAProxy sends it on connect). */
  readonly readTimeoutMs?: number;
  /** Connections served at once; more are refused. Default 256. */
  readonly maxConnections?: number;
  /** Longest node id line accepted, bytes. Default 256. */
  readonly maxLineBytes?: number;
}

/**
 * The agent-check listener. Each connection: read one line (the node id) within the read
 * timeout, write one reply line, close. Bounded in line length, time and connections; garbage
 * gets a `down #...` reply, never an exception. `close()` is safe to call twice.
 */
export class AgentCheckServer {
  readonly #server: Server;
  readonly #o: Required<Omit<AgentCheckOptions, 'logger' | 'apiKey'>> & {
    logger: Logger | undefined;
    apiKey: string | undefined;
  };
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;

  private constructor(opts: AgentCheckOptions) {
    this.#o = {
      now: Date.now,
      readTimeoutMs: 1_000,
      maxConnections: 256,
      maxLineBytes: 256,
      ...opts,
      logger: opts.logger,
      apiKey: opts.apiKey,
    };
    this.#server = createServer((socket) => this.#serve(socket));
    this.#server.maxConnections = this.#o.maxConnections;
  }

  static async start(opts: AgentCheckOptions): Promise<AgentCheckServer> {
    const agent = new AgentCheckServer(opts);
    await new Promise<void>((resolve, reject) => {
      agent.#server.once('error', reject);
      agent.#server.listen(opts.port, opts.host, () => {
        agent.#server.off('error', reject);
        resolve();
      });
    });
    agent.#server.on('error', (err) => agent.#o.logger?.warn({ err: err.message }, 'agent-check listener error'));
    return agent;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stop accepting, end open connections. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
    return this.#closing;
  }

  /** The reply for a received line (exposed for tests of the exact wording). */
  replyFor(line: string | undefined): string {
    const req = parseAgentLine(line);
    if (!req.ok) return req.reply;
    if (this.#o.apiKey !== undefined && !secretMatches(req.key, this.#o.apiKey)) return 'down #unauthorized';
    return agentReply(this.#o.answers.answer(req.nodeId, this.#o.now()), req);
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    let received = '';
    let done = false;
    const finish = (line: string | undefined, fixedReply?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      let reply: string;
      try {
        reply = fixedReply ?? this.replyFor(line);
      } catch (err) {
        this.#o.logger?.error({ err: (err as Error).message }, 'agent-check reply failed');
        reply = 'down #internal_error';
      }
      // A peer that never reads must not hold the socket: the timeout below destroys it.
      socket.end(`${reply}\n`);
    };
    const timer = setTimeout(() => finish(cleanId(received)), this.#o.readTimeoutMs);
    socket.setTimeout(this.#o.readTimeoutMs * 2, () => socket.destroy());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // latin1 keeps one character per byte, so the length bound is a byte bound.
      received += chunk.toString('latin1');
      const eol = received.search(/[\r\n]/);
      if (eol >= 0) finish(cleanId(received.slice(0, eol)));
      else if (received.length > this.#o.maxLineBytes) finish(undefined, 'down #line_too_long');
    });
    // A client that half-closes after its id (nc -N) has said all it will say.
    socket.on('end', () => finish(cleanId(received)));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      this.#sockets.delete(socket);
    });
  }
}

/** The node id in a received line: surrounding blanks removed; an empty line is no id. */
function cleanId(text: string): string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return t;
}
