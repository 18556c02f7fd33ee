// The JSON-RPC proxy: picks a node, forwards, retries, tracks heads.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { BestNodeResolver } from '../read/best-node.js';
import type { ReadModel } from '../read/read-model.js';
import type { Family } from '../chains/chain-spec.js';
import type { NodeConfig } from '../config/node-config.js';
import type { ProxySettings } from '../config/proxy-settings.js';
import { RpcErrorCode, RpcFailure } from '../errors/rpc-errors.js';
import type { HttpPostResult } from '../rpc/http-post.js';
import type { Store } from '../store/store.js';
import { HeadTracker } from './head-tracker.js';
import { parseRpcRequest, type RpcItem, type RpcRequest, type WireVersion } from './json-rpc-request.js';
import { MethodPolicy } from './method-policy.js';
import { NodeBreaker } from './node-breaker.js';
import type { PassiveHealth } from './passive-health.js';
import { errorReply, ProxyError, ProxyErrorCode } from './proxy-error.js';
import type { MethodClass, ProxyMetrics, ProxyOutcome } from './proxy-metrics.js';
import { RateLimiter } from './rate-limiter.js';
import { verdictOfAnswer, verdictOfFailure, type AttemptVerdict } from './retry-rule.js';
import { Upstream } from './upstream.js';

export interface RpcProxyOptions {
  readonly read: ReadModel;
  /** The API's sticky, tiered selection (the same object /v1/chains/:chain/best answers from). */
  readonly resolver: BestNodeResolver;
  readonly settings: ProxySettings;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly passive: PassiveHealth;
  readonly metrics: ProxyMetrics;
  /** The API's clock, for the selection (tests and benchmarks freeze it). Deadlines use real time. */
  readonly now: () => number;
}

/** A client's request, as the HTTP route hands it over. */
export interface ProxyRequest {
  readonly chain: string;
  /** Pinned node (`/rpc/<chain>/<node>`): no selection, no failover. */
  readonly node?: string;
  readonly body: string;
  /** Who asks, for the rate limit: the API key presented, else the client address. */
  readonly identity: string;
  /** The highest head the client was served (`x-nodesentry-min-head`). */
  readonly minHead?: number;
  /** A client-chosen session (`x-nodesentry-session`): the proxy remembers its highest head. */
  readonly session?: string;
}

export interface ProxyAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

const JSON_TYPE = 'application/json';
/** Catch-up polls of a node's head while a client waits for it to reach what it saw, ms. */
const CATCH_UP_POLL_MS = 100;
/** Candidates asked of the selection beyond maxAttempts, so skipped (breaker-open) nodes can be passed over. */
const EXTRA_CANDIDATES = 3;

const HEAD_METHODS: Readonly<Record<Family, string>> = { evm: 'eth_blockNumber', bitcoin: 'getblockcount' };
const HEAD_BODY: Readonly<Record<Family, string>> = {
  evm: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
  bitcoin: '{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}',
};

interface Attempted {
  readonly res: HttpPostResult;
  readonly node: NodeConfig;
  readonly failedOver: boolean;
}

/**
 * The JSON-RPC endpoint backends use instead of walking `/best` themselves: each request goes
 * to the chain's chosen node (the API's sticky, tiered selection), and on a transport failure
 * to the next candidate, within one deadline. What a node answers (results and JSON-RPC
 * errors alike) is passed on as it is; credentials and `${VAR}` tokens are added inside.
 *
 * Knows nothing of HTTP: the route hands over the body and a few header values and writes
 * back what `handle` returns.
 */
export class RpcProxy {
  readonly #o: RpcProxyOptions;
  readonly #upstream: Upstream;
  readonly #breaker: NodeBreaker;
  readonly #heads: HeadTracker;
  readonly #limiter: RateLimiter | undefined;
  readonly #policies: Readonly<Record<Family, MethodPolicy>>;
  #storeErrorLogged = false;

  constructor(o: RpcProxyOptions) {
    this.#o = o;
    const s = o.settings;
    this.#upstream = new Upstream({ dispatcher: o.dispatcher, maxResponseBytes: s.maxResponseBytes });
    this.#breaker = new NodeBreaker(s.breakerMs);
    this.#heads = new HeadTracker((id) => o.read.service.view.get(id)?.sample.height);
    this.#policies = {
      evm: new MethodPolicy({ family: 'evm', allow: s.allow.evm, deny: s.deny.evm }),
      bitcoin: new MethodPolicy({ family: 'bitcoin', allow: s.allow.bitcoin, deny: s.deny.bitcoin }),
    };
    this.#limiter =
      s.rateLimit === undefined
        ? undefined
        : new RateLimiter({
            store: o.store,
            limit: s.rateLimit,
            windowMs: s.rateWindowMs,
            onStoreError: (err) => {
              if (this.#storeErrorLogged) return;
              this.#storeErrorLogged = true;
              o.logger.warn(
                { err: (err as { code?: string }).code ?? 'error' },
                'rpc rate limit: the store cannot count; requests pass unlimited until it can',
              );
            },
          });
  }

  /** Whether a chain's family requires JSON content types (EVM nodes do; Bitcoin-family nodes take any). */
  familyOf(chain: string): Family | undefined {
    return this.#o.read.chainNodes(chain)?.[0]?.chain.family;
  }

  async handle(req: ProxyRequest): Promise<ProxyAnswer> {
    const t0 = performance.now();
    const family = this.familyOf(req.chain);
    if (family === undefined)
      return ownAnswer(
        new ProxyError(ProxyErrorCode.ChainNotFound, `unknown chain ${JSON.stringify(req.chain.slice(0, 64))}`),
        null,
        '2.0',
        false,
      );
    const policy = this.#policies[family];
    let parsed: RpcRequest | undefined;
    let cls: MethodClass = 'read';
    try {
      if (this.#limiter !== undefined) {
        const v = await this.#limiter.hit(req.identity, Date.now());
        if (!v.ok)
          throw new ProxyError(ProxyErrorCode.RateLimited, 'rate limit exceeded', {
            retryAfterS: v.retryAfterS,
            data: { limit: this.#o.settings.rateLimit!, windowMs: this.#o.settings.rateWindowMs },
          });
      }
      parsed = parseRpcRequest(req.body, family, this.#o.settings.maxBatch);
      const allowed: RpcItem[] = [];
      const refused: ProxyError[] = [];
      const refusedItems: RpcItem[] = [];
      let writes = false;
      for (const item of parsed.items) {
        if (!item.valid) {
          refused.push(item.error);
          refusedItems.push(item);
        } else if (!policy.allows(item.method)) {
          refused.push(
            new ProxyError(
              ProxyErrorCode.MethodRefused,
              `method ${item.method.slice(0, 64)} is not allowed on this endpoint`,
            ),
          );
          refusedItems.push(item);
        } else {
          allowed.push(item);
          if (policy.isWrite(item.method)) writes = true;
        }
      }
      cls = writes ? 'write' : parsed.batch ? 'batch' : 'read';
      if (allowed.length === 0) {
        // Nothing to forward: a single refused call, or a batch of them (answered 200 like a node would).
        if (!parsed.batch) throw refused[0]!;
        const replies = refusedItems.map((it, i) => errorReply(refused[i]!, it.id, it.version));
        return this.#done(req.chain, cls, 'refused', t0, {
          status: 200,
          contentType: JSON_TYPE,
          body: JSON.stringify(replies),
          headers: {},
        });
      }
      const body =
        refused.length === 0
          ? req.body
          : JSON.stringify(
              parsed.batch ? allowed.map((a) => (a as { raw: unknown }).raw) : (allowed[0] as { raw: unknown }).raw,
            );
      const expectsReply = allowed.some((a) => a.valid && !a.notification);
      const headCall =
        !parsed.batch && allowed.length === 1 && (allowed[0] as { method?: unknown }).method === HEAD_METHODS[family];
      const attempted = await this.#forward(req, family, body, writes, expectsReply, t0, cls, headCall);
      const { res, node } = attempted;
      if (attempted.failedOver) this.#o.metrics.failover(req.chain);
      const headers: Record<string, string> = { 'x-nodesentry-node': node.id };
      // Consistent reads: the head this answer stands for, for the client to echo back.
      const now = Date.now();
      const single = !parsed.batch && allowed.length === 1 ? (allowed[0] as { method: string }) : undefined;
      if (single !== undefined && single.method === HEAD_METHODS[family] && res.status === 200) {
        const h = headOf(res.text);
        if (h !== undefined) this.#heads.observe(node.id, h, now);
      }
      const head = this.#heads.known(node.id, now);
      if (head !== undefined) {
        headers['x-nodesentry-head'] = String(head);
        if (req.session !== undefined) this.#heads.served(`${req.chain}\u0000${req.session}`, head, now);
      }
      let text = res.text;
      if (refused.length > 0)
        text = mergeBatch(
          text,
          refusedItems.map((it, i) => errorReply(refused[i]!, it.id, it.version)),
        );
      else if (!expectsReply && text.trim() === '') text = '';
      return this.#done(req.chain, cls, 'answered', t0, {
        status: res.status,
        contentType: res.contentType || JSON_TYPE,
        body: text,
        headers,
      });
    } catch (err) {
      if (!(err instanceof ProxyError)) throw err;
      const version: WireVersion = parsed?.version ?? (family === 'evm' ? '2.0' : '1.0');
      const answer = ownAnswer(err, parsed, version, parsed?.batch === true);
      return this.#done(req.chain, cls, outcomeOf(err), t0, answer);
    }
  }

  #done(chain: string, cls: MethodClass, outcome: ProxyOutcome, t0: number, answer: ProxyAnswer): ProxyAnswer {
    this.#o.metrics.request(chain, cls, outcome, (performance.now() - t0) / 1000);
    return answer;
  }

  /** Try the candidates in order until one answers, within the deadline. */
  async #forward(
    req: ProxyRequest,
    family: Family,
    body: string,
    writes: boolean,
    expectsReply: boolean,
    t0: number,
    cls: MethodClass,
    headCall: boolean,
  ): Promise<Attempted> {
    const s = this.#o.settings;
    const deadlineAt = t0 + s.deadlineMs;
    const candidates = this.#candidates(req);
    const sessionKey = req.session === undefined ? undefined : `${req.chain}\u0000${req.session}`;
    const now = Date.now();
    const minHead = Math.max(req.minHead ?? 0, sessionKey === undefined ? 0 : this.#heads.sessionHead(sessionKey, now));
    if (minHead > 0) {
      // Nodes known to be at or above what the client saw first, in selection order.
      const known = (n: NodeConfig) => (this.#heads.known(n.id, now) ?? -1) >= minHead;
      candidates.sort((a, b) => Number(known(b)) - Number(known(a)));
    }
    let last: { node: NodeConfig; code: string } | undefined;
    let behind = false;
    for (let i = 0; i < candidates.length; i++) {
      const node = candidates[i]!;
      const remaining = deadlineAt - performance.now();
      if (remaining < 1)
        throw new ProxyError(ProxyErrorCode.Deadline, `no answer within the deadline of ${s.deadlineMs} ms`, {
          data: { attempts: i, ...(last ? { lastFailure: last.code } : {}) },
        });
      if (minHead > 0 && !(await this.#catchUp(node, family, minHead, Math.min(remaining, s.consistencyWaitMs)))) {
        behind = true;
        continue;
      }
      let verdict: AttemptVerdict;
      let res: HttpPostResult | undefined;
      try {
        res = await this.#upstream.send(
          node,
          body,
          Math.max(1, Math.min(s.attemptTimeoutMs, deadlineAt - performance.now())),
        );
        verdict = verdictOfAnswer(res, expectsReply);
      } catch (err) {
        if (err instanceof RpcFailure && err.code === RpcErrorCode.TooLarge) {
          // Another node would send the same answer: not a node failure, not worth a retry.
          throw new ProxyError(
            ProxyErrorCode.ResponseTooLarge,
            `the answer is larger than ${s.maxResponseBytes} bytes`,
            { data: { maxBytes: s.maxResponseBytes, node: node.id } },
          );
        }
        verdict = verdictOfFailure(err);
      }
      if (verdict.kind === 'answer') {
        this.#breaker.succeed(node.id);
        // A known head is a sample's: a node can have gone back since (restored, resynced). The
        // head call itself says where it is; below what the client saw, the next node is asked.
        const answered = minHead > 0 && headCall && res!.status === 200 ? headOf(res!.text) : undefined;
        if (answered !== undefined && answered < minHead) {
          behind = true;
          continue;
        }
        return { res: res!, node, failedOver: i > 0 };
      }
      this.#nodeFailed(req.chain, node, verdict.code);
      last = { node, code: verdict.code };
      if (writes && !verdict.unsent) {
        this.#o.logger.warn(
          { chain: req.chain, node: node.id, code: verdict.code, class: cls },
          `rpc ${req.chain}: a write failed on ${node.id} (${verdict.code}) after it may have run; not sent to another node`,
        );
        throw new ProxyError(
          ProxyErrorCode.WriteUncertain,
          `the node failed (${verdict.code}) after it may have received the call; a write is never sent twice, check before resending`,
          { data: { node: node.id, failure: verdict.code } },
        );
      }
      const next = candidates[i + 1];
      if (next !== undefined) {
        this.#o.metrics.retry(req.chain, verdict.code);
        this.#o.logger.warn(
          { chain: req.chain, from: node.id, to: next.id, code: verdict.code, attempt: i + 1, class: cls },
          `rpc ${req.chain}: failover ${node.id} -> ${next.id} (${verdict.code})`,
        );
      }
    }
    if (behind && last === undefined) {
      throw new ProxyError(
        ProxyErrorCode.BehindClient,
        `no node has reached block ${minHead}, the highest this client was served`,
        { retryAfterS: 1, data: { minHead } },
      );
    }
    this.#o.logger.warn(
      { chain: req.chain, attempts: candidates.length, code: last?.code ?? null, class: cls },
      `rpc ${req.chain}: request failed on every node tried`,
    );
    throw new ProxyError(
      ProxyErrorCode.Upstream,
      `every node tried failed before answering (${candidates.length} tried, last: ${last?.code ?? 'none'})`,
      { retryAfterS: 1, data: { attempts: candidates.length, lastFailure: last?.code ?? null } },
    );
  }

  /** The nodes to try, in order: the selection's walk, nodes the breaker skips last. */
  #candidates(req: ProxyRequest): NodeConfig[] {
    const read = this.#o.read;
    if (req.node !== undefined) {
      const n = read.config(req.node);
      if (n === undefined || n.chain.name !== req.chain)
        throw new ProxyError(
          ProxyErrorCode.NodeNotFound,
          `no node ${JSON.stringify(req.node.slice(0, 64))} on chain ${req.chain}`,
        );
      return [n];
    }
    const best = this.#o.resolver.resolve(req.chain, this.#o.now());
    const max = this.#o.settings.maxAttempts;
    const top = best?.top(max + EXTRA_CANDIDATES) ?? [];
    if (top.length === 0) {
      throw new ProxyError(
        ProxyErrorCode.NoNode,
        `no node of ${req.chain} may serve now (${best?.selection.reason ?? 'none'})`,
        { retryAfterS: 1, data: { mode: best?.selection.mode ?? null } },
      );
    }
    const now = Date.now();
    const open: NodeConfig[] = [];
    const out: NodeConfig[] = [];
    for (const t of top) {
      const n = read.config(t.nodeId);
      if (n === undefined) continue;
      if (this.#breaker.isOpen(n.id, now)) open.push(n);
      else out.push(n);
    }
    out.push(...open);
    return out.length > max ? out.slice(0, max) : out;
  }

  /**
   * Whether the node is (or within `waitMs` gets) at or above `minHead`: known heads first,
   * else its head asked directly, a few times, as a node one block behind catches up in one
   * block time.
   */
  async #catchUp(node: NodeConfig, family: Family, minHead: number, waitMs: number): Promise<boolean> {
    const until = performance.now() + waitMs;
    for (;;) {
      if ((this.#heads.known(node.id, Date.now()) ?? -1) >= minHead) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      try {
        const res = await this.#upstream.send(
          node,
          HEAD_BODY[family],
          Math.max(1, Math.min(left, this.#o.settings.attemptTimeoutMs)),
        );
        const h = res.status === 200 ? headOf(res.text) : undefined;
        if (h === undefined) return false;
        this.#heads.observe(node.id, h, Date.now());
        if (h >= minHead) return true;
      } catch {
        return false;
      }
      await new Promise((r) => setTimeout(r, Math.min(CATCH_UP_POLL_MS, Math.max(0, until - performance.now()))));
    }
  }

  #nodeFailed(chain: string, node: NodeConfig, code: string): void {
    this.#breaker.fail(node.id, Date.now());
    this.#o.metrics.nodeFailure(chain, node.id, code);
    this.#o.passive.onNodeFailure(node.id, code);
  }
}

/** The proxy's own answer: one error, or one per call of a batch (clients match replies by id). */
function ownAnswer(
  err: ProxyError,
  parsed: RpcRequest | null | undefined,
  version: WireVersion,
  batch: boolean,
): ProxyAnswer {
  const headers: Record<string, string> =
    err.retryAfterS === undefined ? {} : { 'retry-after': String(err.retryAfterS) };
  const items = batch && parsed ? parsed.items.filter((it) => !(it.valid && it.notification)) : [];
  const body =
    batch && items.length > 0
      ? JSON.stringify(items.map((it) => errorReply(err, it.id, it.version)))
      : JSON.stringify(errorReply(err, parsed?.items[0]?.id ?? null, version));
  return { status: err.httpStatus, contentType: JSON_TYPE, body, headers };
}

function outcomeOf(err: ProxyError): ProxyOutcome {
  switch (err.code) {
    case ProxyErrorCode.MethodRefused:
      return 'refused';
    case ProxyErrorCode.RateLimited:
      return 'rate_limited';
    case ProxyErrorCode.NoNode:
      return 'no_node';
    case ProxyErrorCode.BehindClient:
      return 'behind';
    case ProxyErrorCode.Upstream:
      return 'failed';
    case ProxyErrorCode.WriteUncertain:
      return 'write_uncertain';
    case ProxyErrorCode.Deadline:
      return 'deadline';
    case ProxyErrorCode.ResponseTooLarge:
      return 'too_large';
    default:
      return 'rejected';
  }
}

/** A node's batch answer with the proxy's own replies for the refused calls appended. */
function mergeBatch(text: string, extra: readonly unknown[]): string {
  const tail = extra.map((e) => JSON.stringify(e)).join(',');
  const t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) return t.length === 2 ? `[${tail}]` : `${t.slice(0, -1)},${tail}]`;
  return t === '' ? `[${tail}]` : `[${t},${tail}]`;
}

/** The head in an `eth_blockNumber` ("0x...") or `getblockcount` (integer) reply. */
function headOf(text: string): number | undefined {
  try {
    const r = (JSON.parse(text) as { result?: unknown } | null)?.result;
    if (typeof r === 'number' && Number.isSafeInteger(r) && r >= 0) return r;
    if (typeof r === 'string' && /^0x[0-9a-f]{1,13}$/i.test(r)) return Number.parseInt(r.slice(2), 16);
  } catch {
    // not a reply we can read a head from
  }
  return undefined;
}
