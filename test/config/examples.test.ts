import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load-config.js';
import { nodeSchema } from '../../src/config/nodes-file-schema.js';
import { PROXY_VARIABLES } from '../../src/config/proxy-settings.js';
import { loadSettings, SETTING_VARIABLES, SETTINGS_DEFAULTS } from '../../src/config/settings.js';
import { useTempDir } from './config-test-kit.js';

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('the shipped examples', () => {
  const dir = useTempDir();

  it('when examples/nodes.example.yaml is loaded, then it is valid and uses every node option', () => {
    const text = readFileSync(repoFile('examples/nodes.example.yaml'), 'utf8');
    dir.write('defid-data/.cookie', '__cookie__:00\n');
    const env = {
      BSC_FRA_1_RPC_USER: 'u',
      BSC_FRA_1_RPC_PASSWORD: 'p',
      PAI_1_RPC_CREDENTIALS: 'u:p',
      DFI_CHANGI_RPC_CREDENTIALS: 'u:p',
      GETBLOCK_TOKEN: 'token-value',
    };
    const config = parseConfig(text, 'nodes.example.yaml', env, dir.path);
    expect(config.nodes.map((n) => [n.id, n.chain.name])).toEqual([
      ['bsc-fra-1', 'bsc'],
      ['bsc-public', 'bsc'],
      ['bsc-getblock', 'bsc'],
      ['dfi-1', 'defichain'],
      ['pai-1', 'pai'],
      ['dmc-evm-1', 'evm'],
      ['dfi-changi-1', 'bitcoin'],
    ]);
    expect(config.nodes[5]!.chain.chainId).toBe(1130);
    expect(config.nodes[2]!.url).toBe('https://go.getblock.io/${GETBLOCK_TOKEN}/');
    for (const key of Object.keys(nodeSchema.shape)) {
      if (key === 'chainId' || key === 'network') expect(text).toMatch(new RegExp(`^    ${key}: `, 'm'));
      else expect(text).toMatch(new RegExp(`^ {4}(- )?${key}:`, 'm'));
    }
    for (const form of ['usernameEnv', 'passwordEnv', 'env', 'cookieFile']) expect(text).toContain(`${form}:`);
  });

  it('when .env.example is used as it stands, then it documents every variable and yields the defaults', () => {
    const text = readFileSync(repoFile('.env.example'), 'utf8');
    const env = Object.fromEntries(text.split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => {
      const eq = line.indexOf('=');
      return [line.slice(0, eq), line.slice(eq + 1)];
    }));
    expect(Object.keys(env).sort()).toEqual([...Object.values(SETTING_VARIABLES), ...Object.values(PROXY_VARIABLES)].sort());
    expect({ ...loadSettings(env) }).toEqual(SETTINGS_DEFAULTS);
  });
});
