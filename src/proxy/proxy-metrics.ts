// Prometheus metrics of the RPC proxy.
import { Counter, Histogram, Registry } from 'prom-client';
import { RpcErrorCode } from '../errors/rpc-errors.js';

/** read / write (a call in it is a write) / batch (of reads). */
export type MethodClass = 'read' | 'write' | 'batch';

/**
 * How a proxied request ended: `answered` (the node's answer, result or JSON-RPC error, passed
 * on), or why the proxy answered itself.
 */
export type ProxyOutcome =
  | 'answered'
  | 'refused'
  | 'rejected'
  | 'unauthorized'
  | 'rate_limited'
  | 'no_node'
  | 'behind'
  | 'failed'
  | 'write_uncertain'
  | 'deadline'
  | 'too_large';

const FAILURE_CODES: ReadonlySet<string> = new Set(Object.values(RpcErrorCode));
// From a local node's sub-millisecond answer to the longest deadline.
const BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The proxy's Prometheus metrics, on a registry of its own (scraped with the fleet's at
 * /metrics). Labels are bounded: chains and nodes from the config (requests for an unknown
 * chain are not counted), fixed class and outcome words, failure codes from the RPC taxonomy
 * (else `other`). Never a method name (clients choose those), a URL or a key.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'chain' | 'class' | 'outcome'>;
  readonly #duration: Histogram<'chain' | 'class' | 'outcome'>;
  readonly #retries: Counter<'chain' | 'code'>;
  readonly #failovers: Counter<'chain'>;
  readonly #nodeFailures: Counter<'chain' | 'node' | 'code'>;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'nodesentry_rpc_requests_total',
      help: 'JSON-RPC proxy requests by chain, method class (read, write, batch) and outcome.',
      labelNames: ['chain', 'class', 'outcome'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'nodesentry_rpc_request_duration_seconds',
      help: 'JSON-RPC proxy request duration, arrival to answer, by chain, method class and outcome.',
      labelNames: ['chain', 'class', 'outcome'],
      buckets: BUCKETS_S,
      registers,
    });
    this.#retries = new Counter({
      name: 'nodesentry_rpc_retries_total',
      help: 'Attempts sent to another node after a transport failure, by chain and the failure code.',
      labelNames: ['chain', 'code'],
      registers,
    });
    this.#failovers = new Counter({
      name: 'nodesentry_rpc_failovers_total',
      help: 'Requests answered by another node than the first one tried.',
      labelNames: ['chain'],
      registers,
    });
    this.#nodeFailures = new Counter({
      name: 'nodesentry_rpc_node_failures_total',
      help: 'Attempts that failed before an answer, by chain, node and failure code (passive health evidence).',
      labelNames: ['chain', 'node', 'code'],
      registers,
    });
  }

  request(chain: string, cls: MethodClass, outcome: ProxyOutcome, seconds: number): void {
    this.#requests.inc({ chain, class: cls, outcome });
    this.#duration.observe({ chain, class: cls, outcome }, seconds);
  }

  retry(chain: string, code: string): void {
    this.#retries.inc({ chain, code: FAILURE_CODES.has(code) ? code : 'other' });
  }

  failover(chain: string): void {
    this.#failovers.inc({ chain });
  }

  nodeFailure(chain: string, node: string, code: string): void {
    this.#nodeFailures.inc({ chain, node, code: FAILURE_CODES.has(code) ? code : 'other' });
  }
}
