import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../src/config/load-config.js';
import { configErrorOf, useTempDir } from './config-test-kit.js';

/**
 * A corpus of broken nodes files. Each case names the exact key path and the reason of every
 * issue it expects, and no more: a spurious extra issue fails the case too.
 */
interface ExpectedIssue {
  readonly path: string;
  readonly message: string | RegExp;
  readonly line?: number;
}
interface BadCase {
  readonly name: string;
  readonly file?: string;
  readonly text: string;
  readonly env?: Record<string, string>;
  readonly issues: readonly ExpectedIssue[];
}

const CHAIN_LIST = 'bsc, bsc-testnet, defichain, defichain-testnet, pai, pai-testnet, evm, bitcoin';

const cases: BadCase[] = [
  // --- shape of the file
  { name: 'top level is a list', text: '- id: a\n  chain: bsc\n', issues: [{ path: '', message: /^the top level must be a mapping .*got a list$/ }] },
  { name: 'top level is a scalar', text: 'just some text\n', issues: [{ path: '', message: /got a string$/ }] },
  { name: 'top level is a JSON array', file: 'nodes.json', text: '[]', issues: [{ path: '', message: /got a list$/ }] },
  { name: 'nodes is a mapping', text: 'nodes:\n  a: 1\n', issues: [{ path: 'nodes', message: 'expected a list, got a mapping', line: 2 }] },
  { name: 'nodes is a string', file: 'nodes.json', text: '{"nodes": "bsc-1"}', issues: [{ path: 'nodes', message: 'expected a list, got a string', line: 1 }] },
  { name: 'node entry is not a mapping', text: 'nodes:\n  - bsc-1\n', issues: [{ path: 'nodes[0]', message: 'expected a mapping with id, chain and url, got a string' }] },
  { name: 'defaults is a list', text: 'defaults: [1]\n', issues: [{ path: 'defaults', message: 'expected a mapping, got a list' }] },

  // --- the health policy block, validated by the health core and named by key path
  { name: 'health knob out of range', text: 'health:\n  failAfter: 0\n', issues: [{ path: 'health.failAfter', message: /./, line: 2 }] },
  { name: 'unknown health knob', text: 'health:\n  fallAfter: 3\n', issues: [{ path: 'health.fallAfter', message: /./ }] },
  { name: 'bad per-chain health override', text: 'health:\n  chains:\n    bsc:\n      riseAfter: many\n', issues: [{ path: 'health.chains.bsc.riseAfter', message: /./ }] },
  { name: 'health block is a list', text: 'health: [1]\n', issues: [{ path: 'health', message: 'expected a mapping, got a list' }] },

  // --- unknown keys at every level
  { name: 'unknown top-level key', text: 'node:\n  - id: a\n', issues: [{ path: 'node', message: 'unknown key (did you mean "nodes"?)', line: 1 }] },
  { name: 'unknown top-level key far from any', text: 'nodes: []\nfleet: x\n', issues: [{ path: 'fleet', message: 'unknown key (allowed: nodes, defaults, health, and x-... keys to hold YAML anchors)', line: 2 }] },
  {
    name: 'unknown key brought in by a YAML merge',
    text: 'x-bsc: &bsc\n  chain: bsc\n  colour: blue\nnodes:\n  - <<: *bsc\n    id: a\n    url: http://h:1\n',
    issues: [{ path: 'nodes[0].colour', message: /^unknown key/ }],
  },
  { name: 'unknown defaults key', text: 'defaults:\n  interval: 5000\n', issues: [{ path: 'defaults.interval', message: 'unknown key (did you mean "intervalMs"?)', line: 2 }] },
  {
    name: 'unknown node key',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:8545\n    timeout: 1000\n',
    issues: [{ path: 'nodes[0].timeout', message: 'unknown key (did you mean "timeoutMs"?)', line: 5 }],
  },
  {
    name: 'node key with wrong case',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:8545\n    intervalMS: 1000\n',
    issues: [{ path: 'nodes[0].intervalMS', message: 'unknown key (did you mean "intervalMs"?)' }],
  },
  {
    name: 'unknown auth key',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:8545\n    auth:\n      password: hunter2\n',
    issues: [{ path: 'nodes[0].auth.password', message: 'unknown key (did you mean "passwordEnv"?)', line: 6 }],
  },

  // --- wrong types and ranges
  {
    name: 'wrong types',
    text: 'nodes:\n  - id: 7\n    chain: bsc\n    url: http://h:8545\n    tier: "1"\n    tags: eu\n    intervalMs: 1.5\n',
    issues: [
      { path: 'nodes[0].id', message: 'expected a string, got a whole number', line: 2 },
      { path: 'nodes[0].tier', message: 'expected a number, got a string', line: 5 },
      { path: 'nodes[0].tags', message: 'expected a list, got a string', line: 6 },
      { path: 'nodes[0].intervalMs', message: 'expected a whole number, got a fractional number', line: 7 },
    ],
  },
  {
    name: 'out of range',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:8545\n    tier: -1\n    intervalMs: 50\n    timeoutMs: 10\n  - id: b\n    chain: bsc\n    url: http://h:8546\n    intervalMs: 7200000\n',
    issues: [
      { path: 'nodes[0].tier', message: 'must be at least 0' },
      { path: 'nodes[0].intervalMs', message: 'must be at least 100 ms' },
      { path: 'nodes[0].timeoutMs', message: 'must be at least 50 ms' },
      { path: 'nodes[1].intervalMs', message: 'must be at most 3600000 ms' },
    ],
  },
  { name: 'empty value for a key', text: 'nodes:\n  - id: a\n    chain: bsc\n    url:\n', issues: [{ path: 'nodes[0].url', message: 'expected a string, got an empty value', line: 4 }] },
  { name: 'missing required keys', text: 'nodes:\n  - id: a\n', issues: [{ path: 'nodes[0].chain', message: 'required', line: 2 }, { path: 'nodes[0].url', message: 'required', line: 2 }] },
  {
    name: 'bad id and tag',
    text: 'nodes:\n  - id: -bad\n    chain: bsc\n    url: http://h:8545\n    tags: [eu, "has space"]\n',
    issues: [
      { path: 'nodes[0].id', message: /^must be 1-64 letters/ },
      { path: 'nodes[0].tags[1]', message: /^must be 1-64 letters/ },
    ],
  },

  // --- ids
  {
    name: 'duplicate ids',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n  - id: b\n    chain: bsc\n    url: http://h:2\n  - id: a\n    chain: bsc\n    url: http://h:3\n',
    issues: [{ path: 'nodes[2].id', message: 'duplicate id "a" (also at nodes[0].id)', line: 8 }],
  },

  // --- URLs
  { name: 'ftp url', text: 'nodes:\n  - id: a\n    chain: bsc\n    url: ftp://h/x\n', issues: [{ path: 'nodes[0].url', message: 'unsupported scheme "ftp" (expected http or https)', line: 4 }] },
  { name: 'not a url', text: 'nodes:\n  - id: a\n    chain: bsc\n    url: not a url\n', issues: [{ path: 'nodes[0].url', message: 'not a valid URL' }] },
  { name: 'url without scheme', text: 'nodes:\n  - id: a\n    chain: bsc\n    url: /rpc\n', issues: [{ path: 'nodes[0].url', message: 'not a valid URL' }] },
  { name: 'url with a bad port', text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:99999\n', issues: [{ path: 'nodes[0].url', message: 'not a valid URL' }] },
  {
    name: 'user name without password',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://alice@h:8545\n',
    issues: [{ path: 'nodes[0].url', message: 'has a user name but no password (use user:password@, or auth)' }],
  },
  {
    name: 'credentials that are not valid percent-encoding',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://alice:%E0%A4%A@h:8545\n',
    issues: [{ path: 'nodes[0].url', message: 'the credentials in the URL are not valid percent-encoding' }],
  },

  // --- chains
  { name: 'unknown chain', text: 'nodes:\n  - id: a\n    chain: bsx\n    url: http://h:8545\n', issues: [{ path: 'nodes[0].chain', message: `unknown chain "bsx" (expected one of ${CHAIN_LIST})`, line: 3 }] },
  {
    name: 'unknown chain that looks like a URL is not echoed',
    text: 'nodes:\n  - id: a\n    chain: http://u:pw@h\n    url: http://h:8545\n',
    issues: [{ path: 'nodes[0].chain', message: `unknown chain (expected one of ${CHAIN_LIST})` }],
  },
  {
    name: 'generic evm without chainId',
    text: 'nodes:\n  - id: a\n    chain: evm\n    url: http://h:8545\n',
    issues: [{ path: 'nodes[0].chainId', message: /^required for chain evm/ }],
  },
  {
    name: 'generic bitcoin without network',
    text: 'nodes:\n  - id: a\n    chain: bitcoin\n    url: http://h:8332\n',
    issues: [{ path: 'nodes[0].network', message: /^required for chain bitcoin/ }],
  },
  {
    name: 'bad chain ids',
    text: 'nodes:\n  - id: a\n    chain: evm\n    chainId: "0xZZ"\n    url: http://h:1\n  - id: b\n    chain: evm\n    chainId: -5\n    url: http://h:2\n  - id: c\n    chain: evm\n    chainId: [56]\n    url: http://h:3\n',
    issues: [
      { path: 'nodes[0].chainId', message: 'expected a positive integer or a hex string like "0x38"' },
      { path: 'nodes[1].chainId', message: 'expected a positive integer or a hex string like "0x38"' },
      { path: 'nodes[2].chainId', message: 'expected a positive integer or a hex string like "0x38"' },
    ],
  },
  {
    name: 'expectations on the wrong family or contradicting a built-in chain',
    text: 'nodes:\n  - id: a\n    chain: evm\n    chainId: 1\n    network: main\n    url: http://h:1\n  - id: b\n    chain: bitcoin\n    network: main\n    chainId: 1\n    url: http://h:2\n  - id: c\n    chain: bsc\n    chainId: 97\n    url: http://h:3\n  - id: d\n    chain: pai\n    network: test\n    url: http://h:4\n',
    issues: [
      { path: 'nodes[0].network', message: /^only for chain bitcoin/ },
      { path: 'nodes[1].chainId', message: /^only for chain evm/ },
      { path: 'nodes[2].chainId', message: 'chain bsc has chain id 56; use chain evm for another network' },
      { path: 'nodes[3].network', message: 'chain pai has network main; use chain bitcoin for another network' },
    ],
  },
  {
    name: 'minPeers above targetPeers',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    minPeers: 30\n  - id: b\n    chain: evm\n    chainId: 1\n    url: http://h:2\n    targetPeers: 4\n    minPeers: 5\n',
    issues: [
      { path: 'nodes[0].minPeers', message: 'minPeers (30) must not exceed targetPeers (25, the bsc default)' },
      { path: 'nodes[1].minPeers', message: 'minPeers (5) must not exceed targetPeers (4)' },
    ],
  },

  // --- credentials
  {
    name: 'inline credentials and an auth block',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://alice:pw12345@h:8545\n    auth: { env: NS_TEST_CREDS }\n',
    env: { NS_TEST_CREDS: 'bob:other' },
    issues: [{ path: 'nodes[0].auth', message: 'credentials are given both in url and in auth; keep only one', line: 5 }],
  },
  {
    name: 'missing environment variables',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    auth:\n      usernameEnv: NS_TEST_USER\n      passwordEnv: NS_TEST_MISSING_PASSWORD\n  - id: b\n    chain: pai\n    url: http://h:2\n    auth: { env: NS_TEST_MISSING_CREDS }\n',
    env: { NS_TEST_USER: 'alice' },
    issues: [
      { path: 'nodes[0].auth.passwordEnv', message: 'environment variable NS_TEST_MISSING_PASSWORD is not set', line: 7 },
      { path: 'nodes[1].auth.env', message: 'environment variable NS_TEST_MISSING_CREDS is not set' },
    ],
  },
  {
    name: 'empty password variable, and a combined variable without a colon',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    auth: { usernameEnv: NS_TEST_USER, passwordEnv: NS_TEST_EMPTY }\n  - id: b\n    chain: bsc\n    url: http://h:2\n    auth: { env: NS_TEST_NOCOLON }\n',
    env: { NS_TEST_USER: 'alice', NS_TEST_EMPTY: '', NS_TEST_NOCOLON: 'justapassword' },
    issues: [
      { path: 'nodes[0].auth.passwordEnv', message: 'environment variable NS_TEST_EMPTY is empty' },
      { path: 'nodes[1].auth.env', message: 'environment variable NS_TEST_NOCOLON must hold user:password (with a non-empty password)' },
    ],
  },
  {
    name: 'half of a username/password pair',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    auth: { usernameEnv: NS_TEST_USER }\n',
    env: { NS_TEST_USER: 'alice' },
    issues: [{ path: 'nodes[0].auth.passwordEnv', message: 'required with usernameEnv' }],
  },
  {
    name: 'two credential forms in one auth block',
    text: 'nodes:\n  - id: a\n    chain: defichain\n    url: http://h:1\n    auth: { env: NS_TEST_CREDS, cookieFile: .cookie }\n',
    env: { NS_TEST_CREDS: 'a:b' },
    issues: [{ path: 'nodes[0].auth', message: 'give only one of usernameEnv + passwordEnv, env, cookieFile (found env and cookieFile)' }],
  },
  { name: 'empty auth block', text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    auth: {}\n', issues: [{ path: 'nodes[0].auth', message: 'is empty: give usernameEnv and passwordEnv, env, or cookieFile' }] },
  {
    name: 'a value where a variable name belongs',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    auth: { env: "alice:Sup3rSecret" }\n',
    issues: [{ path: 'nodes[0].auth.env', message: 'must be the name of an environment variable (letters, digits and _), not its value' }],
  },

  // --- timing
  {
    name: 'timeout not below interval on the node',
    text: 'nodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    intervalMs: 5000\n    timeoutMs: 5000\n  - id: b\n    chain: bsc\n    url: http://h:2\n    intervalMs: 1000\n',
    issues: [
      { path: 'nodes[0].timeoutMs', message: 'timeoutMs (5000 ms) must be less than intervalMs (5000 ms), so that a hung node cannot make its rounds overlap (node "a")', line: 6 },
      { path: 'nodes[1].intervalMs', message: 'timeoutMs (1500 ms, from defaults) must be less than intervalMs (1000 ms), so that a hung node cannot make its rounds overlap (node "b")', line: 10 },
    ],
  },
  {
    name: 'timeout not below interval via defaults',
    text: 'defaults:\n  intervalMs: 3000\n  timeoutMs: 2000\nnodes:\n  - id: a\n    chain: bsc\n    url: http://h:1\n    timeoutMs: 3000\n',
    issues: [{ path: 'nodes[0].timeoutMs', message: /^timeoutMs \(3000 ms\) must be less than intervalMs \(3000 ms, from defaults\)/ }],
  },
  {
    name: 'defaults inconsistent with each other',
    text: 'defaults:\n  intervalMs: 1000\nnodes: []\n',
    issues: [{ path: 'defaults.intervalMs', message: /^timeoutMs \(1500 ms, built-in default\) must be less than intervalMs \(1000 ms\)/ }],
  },

  // --- syntax
  {
    name: 'bad YAML syntax',
    text: 'nodes:\n  - id: a\n    url: http://h: x\n',
    issues: [{ path: '', message: /^YAML syntax error: /, line: 3 }],
  },
  { name: 'bad YAML indentation', text: 'nodes:\n - id: a\n  chain: bsc\n', issues: [{ path: '', message: /^YAML syntax error: /, line: 3 }] },
  { name: 'duplicate YAML key', text: 'nodes: []\nnodes: []\n', issues: [{ path: '', message: /^YAML syntax error: Map keys must be unique/, line: 2 }] },
  { name: 'bad JSON syntax', file: 'nodes.json', text: '{\n  "nodes": [\n    {"id": "a",}\n  ]\n}\n', issues: [{ path: '', message: "JSON syntax error: trailing comma before '}'", line: 3 }] },
  { name: 'truncated JSON', file: 'nodes.json', text: '{\n  "nodes": [\n', issues: [{ path: '', message: 'JSON syntax error: unexpected end of input', line: 3 }] },
  { name: 'duplicate JSON key', file: 'nodes.json', text: '{\n  "nodes": [],\n  "nodes": []\n}\n', issues: [{ path: '', message: 'JSON error: duplicate key in an object', line: 3 }] },
  { name: 'YAML in a .json file', file: 'nodes.json', text: 'nodes: []\n', issues: [{ path: '', message: 'JSON syntax error: unexpected character', line: 1 }] },
  { name: 'neither JSON nor YAML, no extension', file: 'nodes.conf', text: '{ "nodes": [ }', issues: [{ path: '', message: "JSON syntax error: unexpected '}'", line: 1 }] },
];

describe('a malformed nodes file', () => {
  const dir = useTempDir();

  it.each(cases.map((c, i) => [c.name, i] as const))('when %s, then it names the file, the key path and the reason', async (_name, index) => {
    const c = cases[index]!;
    const file = dir.write(join(`case-${index}`, c.file ?? 'nodes.yaml'), c.text);
    const err = await configErrorOf(() => loadConfigFile(file, c.env ?? {}));

    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.file).toBe(file);
    expect(err.issues.map((issue) => issue.path)).toEqual(c.issues.map((issue) => issue.path));
    c.issues.forEach((want, k) => {
      const got = err.issues[k]!;
      if (typeof want.message === 'string') expect(got.message).toBe(want.message);
      else expect(got.message).toMatch(want.message);
      if (want.line !== undefined) expect(got.line).toBe(want.line);
      // The message lists each issue as `<file>: <path>: <what is wrong>`.
      const prefix = want.path === '' ? `${file}: ` : `${file}: ${want.path}: `;
      expect(err.message).toContain(`${prefix}${got.message}`);
    });
  });

  it('when a cookie file is missing, then the error names the key and the resolved path', async () => {
    const file = dir.write('cookie-missing/nodes.yaml', 'nodes:\n  - id: dfi\n    chain: defichain\n    url: http://h:8554\n    auth: { cookieFile: data/.cookie }\n');
    const err = await configErrorOf(() => loadConfigFile(file, {}));
    expect(err.issues).toEqual([{ path: 'nodes[0].auth.cookieFile', message: `cookie file ${join(dir.path, 'cookie-missing', 'data', '.cookie')} does not exist`, line: 5 }]);
  });

  it('when a cookie file is a directory, then it is rejected', async () => {
    const file = dir.write('cookie-dir/nodes.yaml', 'nodes:\n  - id: dfi\n    chain: defichain\n    url: http://h:8554\n    auth: { cookieFile: data }\n');
    mkdirSync(join(dir.path, 'cookie-dir', 'data'));
    const err = await configErrorOf(() => loadConfigFile(file, {}));
    expect(err.issues.map((i) => [i.path, i.message])).toEqual([['nodes[0].auth.cookieFile', `cookie file ${join(dir.path, 'cookie-dir', 'data')} is not a regular file`]]);
  });

  it('when the file does not exist, then the error names it', async () => {
    const file = join(dir.path, 'absent.yaml');
    const err = await configErrorOf(() => loadConfigFile(file));
    expect(err.file).toBe(file);
    expect(err.message).toBe(`${file}: the configuration file does not exist`);
  });

  it('when several things are wrong, then every one is listed in file order, one per line', async () => {
    const text = [
      'nodes:',
      '  - id: bsc-1',
      '    chain: bsx',
      '    url: ftp://h',
      '    colour: blue',
      '  - id: bsc-1',
      '    chain: evm',
      '    url: http://h:8545',
    ].join('\n');
    const err = await configErrorOf(() => parseConfig(text, 'nodes.yaml', {}, dir.path));
    expect(err.message.split('\n')).toEqual([
      `nodes.yaml: nodes[0].chain: unknown chain "bsx" (expected one of ${CHAIN_LIST}) (line 3)`,
      'nodes.yaml: nodes[0].url: unsupported scheme "ftp" (expected http or https) (line 4)',
      'nodes.yaml: nodes[0].colour: unknown key (allowed: id, chain, url, tags, tier, intervalMs, timeoutMs, chainId, network, blockTimeMs, targetPeers, minPeers, auth) (line 5)',
      'nodes.yaml: nodes[1].id: duplicate id "bsc-1" (also at nodes[0].id) (line 6)',
      expect.stringMatching(/^nodes\.yaml: nodes\[1\]\.chainId: required for chain evm.* \(line 6\)$/),
    ]);
    expect(err.shortMessage).toBe('invalid configuration in nodes.yaml (5 problems)');
  });
});
