// `nodesentry probe <url>`: probe one node once and print its sample.
import { parseArgs } from 'node:util';
import { BUILTIN_CHAINS, GENERIC_DEFAULTS, type ChainSpec } from '../chains/chain-spec.js';
import { detectChain } from '../chains/detect-chain.js';
import { NodeProber, toSampleError } from '../chains/node-prober.js';
import { NODE_DEFAULTS } from '../config/node-config.js';
import { Credentials } from '../rpc/credentials.js';
import { createNodeDispatcher } from '../rpc/dispatcher.js';
import { hideSecretQuery } from '../rpc/secret-url.js';
import { splitUrlCredentials } from '../rpc/url-credentials.js';
import { argErrorText } from './arg-error.js';
import { formatSample } from './format-sample.js';
import { PROBE_DEFAULTS } from '../defaults.js';

export const PROBE_USAGE = `usage: nodesentry probe <url> [--chain NAME] [--chain-id N] [--network NAME]
                        [--cookie-file PATH] [--timeout MS] [--json]

  <url>            the node's JSON-RPC URL; credentials may be inline (http://user:pass@host:port)
  --chain          bsc, bsc-testnet, defichain, defichain-testnet, pai, pai-testnet, evm, bitcoin
                   (detected from the node when omitted)
  --chain-id       expected EVM chain id, with --chain evm
  --network        expected Bitcoin-family chain name (main, test, ...), with --chain bitcoin
  --cookie-file    bitcoind-style .cookie file to authenticate with
  --timeout        deadline of one request in ms (default 5000)
  --json           print the sample as JSON

exit status: 0 the node answered and is on the expected chain, 1 it failed, 2 bad usage`;

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** `nodesentry probe`: one normalized sample of one node. Returns the exit code. */
export async function probeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        chain: { type: 'string' },
        'chain-id': { type: 'string' },
        network: { type: 'string' },
        'cookie-file': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`nodesentry probe: ${argErrorText(err)}\n${PROBE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(PROBE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`nodesentry probe: expected exactly one URL\n${PROBE_USAGE}`);
    return 2;
  }
  let target: ReturnType<typeof splitUrlCredentials>;
  try {
    target = splitUrlCredentials(positionals[0]!);
  } catch (err) {
    io.err(`nodesentry probe: bad URL: ${(err as Error).message}`);
    return 2;
  }
  const timeoutMs = values.timeout === undefined ? 5_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    io.err('nodesentry probe: --timeout must be a whole number of milliseconds between 1 and 600000');
    return 2;
  }
  let credentials = target.credentials;
  if (values['cookie-file'] !== undefined) {
    if (credentials) {
      io.err('nodesentry probe: give credentials either in the URL or with --cookie-file, not both');
      return 2;
    }
    credentials = new Credentials({ kind: 'cookie', path: values['cookie-file'] });
  }

  let chain: ChainSpec | undefined;
  if (values.chain !== undefined) {
    const resolved = resolveChain(values.chain, values['chain-id'], values.network);
    if (typeof resolved === 'string') {
      io.err(`nodesentry probe: ${resolved}`);
      return 2;
    }
    chain = resolved;
  }

  // Key-like query parameters are requested but never printed (nor echoed back by the node).
  const hidden = hideSecretQuery(target.url);
  const shown = hidden?.url ?? target.url;
  const dispatcher = createNodeDispatcher({ connectionsPerOrigin: 2, connectTimeoutMs: timeoutMs });
  const maxResponseBytes = PROBE_DEFAULTS.maxResponseBytes;
  try {
    if (!chain) {
      try {
        chain = await detectChain({
          url: target.url,
          credentials,
          dispatcher,
          timeoutMs,
          maxResponseBytes,
          secrets: hidden?.requestUrl.secretParts(),
        });
      } catch (err) {
        const e = toSampleError(err);
        io.err(`nodesentry probe: cannot reach or identify the node at ${shown}: ${e.code}: ${e.message}`);
        return 1;
      }
    }
    const prober = new NodeProber(
      {
        id: new URL(target.url).host,
        chain,
        url: shown,
        ...(hidden ? { requestUrl: hidden.requestUrl } : {}),
        ...(credentials ? { credentials } : {}),
        tags: [],
        tier: 0,
        intervalMs: NODE_DEFAULTS.intervalMs,
        timeoutMs,
      },
      // One probe and no next: the peer list now, not phased into a later probe (issue #17).
      { dispatcher, maxResponseBytes, peerDetailsPhaseMs: 0 },
    );
    const sample = await prober.probe();
    io.out(values.json ? JSON.stringify({ url: shown, ...sample }, null, 2) : formatSample(sample, [['url', shown]]));
    return sample.ok ? 0 : 1;
  } finally {
    await dispatcher.close();
  }
}

function resolveChain(name: string, chainId: string | undefined, network: string | undefined): ChainSpec | string {
  if (Object.hasOwn(BUILTIN_CHAINS, name)) return BUILTIN_CHAINS[name]!;
  if (name === 'evm') {
    if (chainId === undefined) return '--chain evm needs --chain-id';
    const id = /^0x[0-9a-f]+$/i.test(chainId) ? Number.parseInt(chainId.slice(2), 16) : Number(chainId);
    if (!Number.isSafeInteger(id) || id <= 0) return '--chain-id must be a positive integer (decimal or 0x hex)';
    return { name: 'evm', family: 'evm', chainId: id, ...GENERIC_DEFAULTS.evm };
  }
  if (name === 'bitcoin') {
    if (network === undefined) return '--chain bitcoin needs --network (main, test, regtest, ...)';
    return { name: 'bitcoin', family: 'bitcoin', networkName: network, ...GENERIC_DEFAULTS.bitcoin };
  }
  return `unknown chain "${name}" (expected one of ${[...Object.keys(BUILTIN_CHAINS), 'evm', 'bitcoin'].join(', ')})`;
}
