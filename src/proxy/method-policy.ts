// Which JSON-RPC methods the proxy forwards, and which are refused.
import type { Family } from '../chains/chain-spec.js';

/**
 * Refused unless the operator allows them: calls that administer the node, unlock or use its
 * keys, change its peers or mining, or stop it. A shared backend endpoint must never expose
 * them (a node's own RPC allow-list is often the default "everything").
 */
export const DEFAULT_DENIED: Readonly<Record<Family, readonly string[]>> = Object.freeze({
  evm: [
    'admin_*',
    'debug_*',
    'personal_*',
    'miner_*',
    'engine_*',
    'clique_*',
    'parlia_*',
    'les_*',
    'txpool_*',
    // Sign with (or send from) accounts held by the node.
    'eth_sign',
    'eth_signTransaction',
    'eth_signTypedData*',
    'eth_sendTransaction',
    'eth_accounts',
  ],
  bitcoin: [
    'stop',
    'setnetworkactive',
    'addnode',
    'disconnectnode',
    'setban',
    'clearbanned',
    'logging',
    'generate*',
    'submitblock',
    'submitheader',
    'prioritisetransaction',
    'setmocktime',
    'mockscheduler',
    'invalidateblock',
    'reconsiderblock',
    'preciousblock',
    'pruneblockchain',
    'savemempool',
    'dumptxoutset',
    // The node's wallet: keys, funds, addresses.
    '*wallet*',
    'dumpprivkey',
    'importprivkey',
    'importaddress',
    'importpubkey',
    'importmulti',
    'importdescriptors',
    'importprunedfunds',
    'removeprunedfunds',
    'rescanblockchain',
    'keypoolrefill',
    'sendtoaddress',
    'sendmany',
    'send',
    'sendall',
    'settxfee',
    'signmessage',
    'lockunspent',
    'setlabel',
    'getnewaddress',
    'getrawchangeaddress',
    'abandontransaction',
    'bumpfee',
    'psbtbumpfee',
    'sethdseed',
    'upgradewallet',
    'walletpassphrase',
    'encryptwallet',
  ],
});

/**
 * Calls that change the world outside the node. The proxy never sends one to a second node
 * unless the first provably did not receive it (see RetryRule); reads are retried freely.
 */
export const WRITE_METHODS: Readonly<Record<Family, ReadonlySet<string>>> = Object.freeze({
  evm: new Set([
    'eth_sendRawTransaction',
    'eth_sendRawTransactionConditional',
    'eth_sendBundle',
    'eth_sendPrivateTransaction',
    'eth_sendTransaction',
  ]),
  bitcoin: new Set([
    'sendrawtransaction',
    'submitpackage',
    'submitblock',
    'sendtoaddress',
    'sendmany',
    'send',
    'sendall',
  ]),
});

export interface MethodPolicyOptions {
  readonly family: Family;
  /** Allowed despite DEFAULT_DENIED (`name`, `prefix*`, `*`). */
  readonly allow: readonly string[];
  /** Refused on top of DEFAULT_DENIED; wins over `allow`. */
  readonly deny: readonly string[];
}

type Matcher = (method: string) => boolean;

/**
 * Which methods a chain family's clients may call. Precedence: the operator's deny list, then
 * the operator's allow list, then the default deny list; anything else is allowed (nodes
 * answer unknown methods themselves, -32601). Verdicts are memoized: method names repeat.
 */
export class MethodPolicy {
  readonly family: Family;
  readonly #deny: Matcher;
  readonly #allow: Matcher;
  readonly #defaults: Matcher;
  readonly #memo = new Map<string, boolean>();

  constructor(opts: MethodPolicyOptions) {
    this.family = opts.family;
    this.#deny = matcher(opts.deny);
    this.#allow = matcher(opts.allow);
    this.#defaults = matcher(DEFAULT_DENIED[opts.family]);
  }

  allows(method: string): boolean {
    let v = this.#memo.get(method);
    if (v === undefined) {
      v = this.#deny(method) ? false : this.#allow(method) ? true : !this.#defaults(method);
      // Bounded: a client sending random names must not grow the memo without end.
      if (this.#memo.size < 4_096) this.#memo.set(method, v);
    }
    return v;
  }

  isWrite(method: string): boolean {
    return WRITE_METHODS[this.family].has(method);
  }
}

/** `name` exact, `prefix*` and `*infix*` (case-sensitive, as nodes match method names). */
function matcher(patterns: readonly string[]): Matcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const infixes: string[] = [];
  let all = false;
  for (const p of patterns) {
    if (p === '*') all = true;
    else if (p.startsWith('*') && p.endsWith('*') && p.length > 2) infixes.push(p.slice(1, -1));
    else if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (m) => all || exact.has(m) || prefixes.some((p) => m.startsWith(p)) || infixes.some((i) => m.includes(i));
}
