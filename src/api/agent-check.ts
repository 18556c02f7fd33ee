import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { NodeAnswer, NodeAnswers } from './node-answers.js';
import { printable } from './probe-dialect.js';

/**
 * HAProxy's agent check (`agent-check agent-port <port> agent-send "<node id>\n"`): HAProxy
 * connects, sends the server's node id, reads one ASCII line and applies its words. Unlike an
 * HTTP check, it can also set the server's weight, which is how the ranking reaches HAProxy.
 *
 * The words (HAProxy's `tcpcheck_agent_expect_reply`: words split by space, tab or comma, a
 * description after `#`, the last word of each kind wins):
 *
 * | node | reply |
 * |---|---|
 * | healthy / degraded | `up ready 87%` (weight: the node's score, 1..100 %) |
 * | maintenance (drained) | `drain` (no new sessions, persistent ones stay) |
 * | unhealthy / unknown | `down#<first reason>` (e.g. `down#lagging(41 blocks, 31s)`) |
 * | not configured | `down#unknown_node` |
 * | nothing sent within the read timeout | `down#no_node_id` |
 * | no line end within `maxLineBytes` | `down#line_too_long` |
 *
 * `ready` is in every up reply because only the agent can undo its own `drain`: without it a
 * node drained once would stay drained in HAProxy for good.
 */
export function agentReply(answer: NodeAnswer | undefined): string {
  if (answer === undefined) return 'down#unknown_node';
  switch (answer.state) {
    case 'healthy':
    case 'degraded':
      return `up ready ${weightPercent(answer.score)}%`;
    case 'maintenance':
      return 'drain';
    case 'unhealthy':
    case 'unknown':
      return `down#${description(answer.reasons[0]?.text ?? answer.state)}`;
  }
}

/** A score of 0..1 as an HAProxy weight percentage: never 0, which HAProxy would treat as drain. */
export function weightPercent(score: number | null): number {
  if (score === null || !Number.isFinite(score)) return 100;
  return Math.min(100, Math.max(1, Math.round(score * 100)));
}

const MAX_DESCRIPTION_CHARS = 64;

/** The description after `#`: printable ASCII, one line, short (HAProxy shows it in its stats page). */
function description(text: string): string {
  return printable(text, MAX_DESCRIPTION_CHARS);
}

export interface AgentCheckOptions {
  readonly port: number;
  readonly host: string;
  readonly answers: NodeAnswers;
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
 * gets a `down#...` reply, never an exception. `close()` is safe to call twice.
 */
export class AgentCheckServer {
  readonly #server: Server;
  readonly #o: Required<Omit<AgentCheckOptions, 'logger'>> & { logger: Logger | undefined };
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;

  private constructor(opts: AgentCheckOptions) {
    this.#o = { now: Date.now, readTimeoutMs: 1_000, maxConnections: 256, maxLineBytes: 256, ...opts, logger: opts.logger };
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
    if (line === undefined || line === '') return 'down#no_node_id';
    return agentReply(this.#o.answers.answer(line, this.#o.now()));
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
        reply = 'down#internal_error';
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
      else if (received.length > this.#o.maxLineBytes) finish(undefined, 'down#line_too_long');
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
