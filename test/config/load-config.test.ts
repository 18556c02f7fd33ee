import { join } from 'node:path';
import { BUILTIN_CHAINS } from '../../src/chains/chain-spec.js';
import { loadConfigFile, parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { NODE_DEFAULTS } from '../../src/config/node-config.js';
import { useTempDir } from './config-test-kit.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

const YAML_TEXT = `
# a fleet with one node of every kind
defaults:
  intervalMs: 3000
  timeoutMs: 1500
nodes:
  - id: bsc-1
    chain: bsc
    # "s3cr@t:pw" percent-encoded
    url: http://alice:s3cr%40t%3Apw@10.0.0.1:8545/n/node-1
    tags: [eu, archive, eu]
    tier: 0
  - id: bsc-2
    chain: bsc
    url: https://bsc.example/rpc
    tier: 1
    intervalMs: 10000
    timeoutMs: 4000
    targetPeers: 40
    minPeers: 5
    auth: { usernameEnv: BSC_USER, passwordEnv: BSC_PASSWORD }
  - id: dfi-1
    chain: defichain
    url: http://10.0.0.2:8554
    auth: { cookieFile: data/.cookie }
  - id: pai-1
    chain: pai-testnet
    url: http://10.0.0.3:18566/
    auth: { env: PAI_CREDS }
  - id: evm-1
    chain: evm
    chainId: "0x38"
    url: http://10.0.0.4:8545
    blockTimeMs: 3000
  - id: btc-1
    chain: bitcoin
    network: regtest
    url: http://10.0.0.5:18443
`;

const JSON_TEXT = JSON.stringify({
  defaults: { intervalMs: 3000, timeoutMs: 1500 },
  nodes: [
    { id: 'bsc-1', chain: 'bsc', url: 'http://alice:s3cr%40t%3Apw@10.0.0.1:8545/n/node-1', tags: ['eu', 'archive', 'eu'], tier: 0 },
    { id: 'bsc-2', chain: 'bsc', url: 'https://bsc.example/rpc', tier: 1, intervalMs: 10000, timeoutMs: 4000, targetPeers: 40, minPeers: 5, auth: { usernameEnv: 'BSC_USER', passwordEnv: 'BSC_PASSWORD' } },
    { id: 'dfi-1', chain: 'defichain', url: 'http://10.0.0.2:8554', auth: { cookieFile: 'data/.cookie' } },
    { id: 'pai-1', chain: 'pai-testnet', url: 'http://10.0.0.3:18566/', auth: { env: 'PAI_CREDS' } },
    { id: 'evm-1', chain: 'evm', chainId: '0x38', url: 'http://10.0.0.4:8545', blockTimeMs: 3000 },
    { id: 'btc-1', chain: 'bitcoin', network: 'regtest', url: 'http://10.0.0.5:18443' },
  ],
}, null, 2);

const ENV = { BSC_USER: 'bob', BSC_PASSWORD: 'b0b-password', PAI_CREDS: 'carol:c4rol:with:colons' };

describe('a valid nodes file', () => {
  const dir = useTempDir();
  beforeAll(() => {
    dir.write('data/.cookie', '__cookie__:0123456789abcdef\n');
  });

  async function expectFleet(config: LoadedConfig): Promise<void> {
    expect(config.defaults).toEqual({ intervalMs: 3000, timeoutMs: 1500 });
    const [bsc1, bsc2, dfi, pai, evm, btc] = config.nodes;
    expect(config.nodes).toHaveLength(6);

    // Defaults applied; inline credentials decoded and stripped, path kept; tags deduplicated.
    expect(bsc1).toMatchObject({ id: 'bsc-1', url: 'http://10.0.0.1:8545/n/node-1', tags: ['eu', 'archive'], tier: 0, intervalMs: 3000, timeoutMs: 1500 });
    expect(bsc1!.chain).toEqual(BUILTIN_CHAINS['bsc']);
    expect(await bsc1!.credentials!.authorizationHeader()).toBe(basic('alice', 's3cr@t:pw'));

    // Per-node timing and peer overrides on a built-in chain.
    expect(bsc2).toMatchObject({ url: 'https://bsc.example/rpc', tier: 1, intervalMs: 10000, timeoutMs: 4000, tags: [] });
    expect(bsc2!.chain).toEqual({ ...BUILTIN_CHAINS['bsc'], targetPeers: 40, minPeers: 5 });
    expect(await bsc2!.credentials!.authorizationHeader()).toBe(basic('bob', 'b0b-password'));

    // Relative cookie path resolved against the file's directory.
    expect(dfi!.chain).toEqual(BUILTIN_CHAINS['defichain']);
    expect(dfi!.credentials!.describe()).toBe(`cookie file ${join(dir.path, 'data', '.cookie')}`);
    expect(await dfi!.credentials!.authorizationHeader()).toBe(basic('__cookie__', '0123456789abcdef'));

    // `user:pass` from one variable; the password may hold colons.
    expect(pai!.chain).toEqual(BUILTIN_CHAINS['pai-testnet']);
    expect(await pai!.credentials!.authorizationHeader()).toBe(basic('carol', 'c4rol:with:colons'));

    // Generic families: hex chain id parsed, family defaults, overrides.
    expect(evm!.chain).toEqual({ name: 'evm', family: 'evm', chainId: 56, blockTimeMs: 3000, targetPeers: 10, minPeers: 1 });
    expect(evm!.credentials).toBeUndefined();
    expect(btc!.chain).toEqual({ name: 'bitcoin', family: 'bitcoin', networkName: 'regtest', blockTimeMs: 600_000, targetPeers: 8, minPeers: 1 });

    for (const node of config.nodes) {
      expect(new URL(node.url).username).toBe('');
      expect(new URL(node.url).password).toBe('');
      expect(node.timeoutMs).toBeLessThan(node.intervalMs);
    }
  }

  it('when it is YAML, then every node resolves', async () => {
    const file = dir.write('nodes.yaml', YAML_TEXT);
    const config = await loadConfigFile(file, ENV);
    expect(config.file).toBe(file);
    await expectFleet(config);
  });

  it('when it is JSON, then it resolves exactly as the same YAML does', async () => {
    const fromJson = await loadConfigFile(dir.write('nodes.json', JSON_TEXT), ENV);
    const fromYaml = await loadConfigFile(dir.write('nodes.yml', YAML_TEXT), ENV);
    await expectFleet(fromJson);
    expect(JSON.stringify(fromJson.nodes)).toBe(JSON.stringify(fromYaml.nodes));
  });

  it('when the file has no known extension, then JSON and YAML are both recognised', async () => {
    await expectFleet(await loadConfigFile(dir.write('fleet-json', JSON_TEXT), ENV));
    await expectFleet(await loadConfigFile(dir.write('fleet-yaml.conf', YAML_TEXT), ENV));
  });

  it('when parsing text, then baseDir anchors relative cookie files', () => {
    const config = parseConfig('nodes:\n  - {id: d, chain: defichain, url: "http://h:8554", auth: {cookieFile: data/.cookie}}\n', 'inline.yaml', {}, dir.path);
    expect(config.nodes[0]!.credentials!.describe()).toBe(`cookie file ${join(dir.path, 'data', '.cookie')}`);
  });

  it('when no defaults are given, then NODE_DEFAULTS apply', () => {
    const config = parseConfig('nodes:\n  - {id: a, chain: bsc, url: "http://h:8545"}\n', 'nodes.yaml', {});
    expect(config.defaults).toEqual(NODE_DEFAULTS);
    expect(config.nodes[0]).toMatchObject({ intervalMs: NODE_DEFAULTS.intervalMs, timeoutMs: NODE_DEFAULTS.timeoutMs, tier: 0, tags: [] });
    expect(config.nodes[0]!.url).toBe('http://h:8545/');
  });

  it('when a built-in chain repeats its own chain id or network, then that is accepted', () => {
    const config = parseConfig('nodes:\n  - {id: a, chain: bsc, chainId: 56, url: "http://h:1"}\n  - {id: b, chain: defichain-testnet, network: test, url: "http://h:2"}\n', 'nodes.yaml', {});
    expect(config.nodes.map((n) => n.chain)).toEqual([BUILTIN_CHAINS['bsc'], BUILTIN_CHAINS['defichain-testnet']]);
  });

  it('when an unquoted YAML hex chain id is given, then it is read as a number', () => {
    const config = parseConfig('nodes:\n  - {id: a, chain: evm, chainId: 0x61, url: "http://h:1"}\n', 'nodes.yaml', {});
    expect(config.nodes[0]!.chain.chainId).toBe(97);
  });

  it.each([
    ['an empty YAML file', 'nodes.yaml', ''],
    ['a YAML file of comments', 'nodes.yaml', '# nothing yet\n'],
    ['an empty nodes list', 'nodes.yaml', 'nodes: []\n'],
    ['nodes with no value', 'nodes.yaml', 'nodes:\n'],
    ['only defaults', 'nodes.json', '{"defaults": {"intervalMs": 1000, "timeoutMs": 500}}'],
    ['an empty JSON object', 'nodes.json', '{}'],
  ])('when it is %s, then there are no nodes (the simulated fleet runs)', (_name, file, text) => {
    expect(parseConfig(text, file, {}).nodes).toEqual([]);
  });

  it('when nodes share settings through x- anchors and merge keys, then each node gets them', async () => {
    const text = [
      'x-bsc: &bsc',
      '  chain: bsc',
      '  tags: [eu]',
      '  intervalMs: 4000',
      '  auth: { usernameEnv: BSC_USER, passwordEnv: BSC_PASSWORD }',
      'nodes:',
      '  - <<: *bsc',
      '    id: bsc-1',
      '    url: http://h:1',
      '  - <<: *bsc',
      '    id: bsc-2',
      '    url: http://h:2',
      '    intervalMs: 6000',
    ].join('\n');
    const config = parseConfig(text, 'nodes.yaml', ENV);
    expect(config.nodes.map((n) => [n.id, n.chain.name, n.tags, n.intervalMs])).toEqual([['bsc-1', 'bsc', ['eu'], 4000], ['bsc-2', 'bsc', ['eu'], 6000]]);
    expect(await config.nodes[1]!.credentials!.authorizationHeader()).toBe(basic('bob', 'b0b-password'));
  });

  it('when a file starts with a byte-order mark, then it still parses', () => {
    expect(parseConfig('\uFEFF{"nodes": []}', 'nodes.json', {}).nodes).toEqual([]);
  });
});
