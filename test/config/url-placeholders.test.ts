import { inspect } from 'node:util';
import { parseConfig } from '../../src/config/load-config.js';
import { configErrorOf } from './config-test-kit.js';

// Providers put their access token in the URL path (https://go.getblock.io/<ACCESS-TOKEN>/):
// `${VAR}` keeps it in the environment; requests use it, nothing shows it.
const TOKEN = 'tok-7f3a9c2e5b1d';

describe('${VAR} placeholders in node URLs', () => {
  it('when a URL names a variable, then requests get the secret and everything shown keeps the placeholder', () => {
    const cfg = parseConfig(
      'nodes:\n  - id: getblock\n    chain: bsc\n    url: https://go.getblock.io/${GETBLOCK_TOKEN}/\n',
      'nodes.yaml',
      { GETBLOCK_TOKEN: TOKEN },
    );
    const node = cfg.nodes[0]!;
    expect(node.url).toBe('https://go.getblock.io/${GETBLOCK_TOKEN}/');
    expect(node.requestUrl?.reveal()).toBe(`https://go.getblock.io/${TOKEN}/`);
    const shown = JSON.stringify(cfg) + inspect(cfg, { depth: 10 }) + String(node.requestUrl);
    expect(shown).not.toContain(TOKEN);
  });

  it('when a token holds characters a URL encodes, then it is still kept out of the shown URL', () => {
    const token = 'a b/c?d';
    const cfg = parseConfig('nodes:\n  - id: x\n    chain: bsc\n    url: https://rpc.example/v1/${T}\n', 'nodes.yaml', { T: token });
    const node = cfg.nodes[0]!;
    expect(node.url).not.toContain('a b');
    expect(node.url).not.toContain(encodeURIComponent(token));
    expect(node.url.startsWith('https://rpc.example')).toBe(true);
  });

  it('when a URL has no placeholder, then there is no separate request URL', () => {
    const cfg = parseConfig('nodes:\n  - id: x\n    chain: bsc\n    url: http://10.0.0.1:8545\n', 'nodes.yaml', {});
    expect(cfg.nodes[0]!.requestUrl).toBeUndefined();
  });

  it.each([
    ['an unset variable', 'https://go.getblock.io/${NOPE}/', {}, /environment variable NOPE \(named by a \$\{NOPE\} placeholder\) is not set/],
    ['a bad variable name', 'https://go.getblock.io/${1 bad}/', {}, /must name an environment variable/],
  ])('when the URL has %s, then the error names the key and the variable, never a value', async (_name, url, env, message) => {
    const err = await configErrorOf(() => parseConfig(`nodes:\n  - id: x\n    chain: bsc\n    url: ${url}\n`, 'nodes.yaml', env as Record<string, string>));
    expect(err.issues[0]!.path).toBe('nodes[0].url');
    expect(err.issues[0]!.message).toMatch(message);
  });

  it('when the filled URL is invalid, then the error does not echo the secret', async () => {
    const err = await configErrorOf(() => parseConfig('nodes:\n  - id: x\n    chain: bsc\n    url: ${WHOLE_URL}\n', 'nodes.yaml', { WHOLE_URL: `ftp://${TOKEN}@host/` }));
    expect(err.message + inspect(err)).not.toContain(TOKEN);
  });
});
