import { inspect } from 'node:util';
import fc from 'fast-check';
import type { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { configErrorOf, useTempDir } from './config-test-kit.js';

const PASSWORD = 'Sup3rSecretPw';

/** Every way an error can end up in a log. */
function everythingShown(err: ConfigError): string {
  return [err.message, err.shortMessage, err.details, err.stack, String(err), JSON.stringify(err.issues), inspect(err, { depth: Infinity }), JSON.stringify(err)].join('\n');
}

const node = (fields: string) => `nodes:\n  - id: a\n    chain: bsc\n${fields}`;

describe('credentials never reach a message or a serialised config', () => {
  const dir = useTempDir();

  it('when a config with every kind of credential is loaded, then JSON, inspect and strings show no secret', () => {
    dir.write('.cookie', `__cookie__:${PASSWORD}-cookie\n`);
    const text = [
      'nodes:',
      `  - { id: a, chain: bsc, url: "http://alice:${encodeURIComponent(`${PASSWORD}@1`)}@h:1/n/a" }`,
      '  - { id: b, chain: bsc, url: "http://h:2", auth: { usernameEnv: U, passwordEnv: P } }',
      '  - { id: c, chain: pai, url: "http://h:3", auth: { env: C } }',
      '  - { id: d, chain: defichain, url: "http://h:4", auth: { cookieFile: .cookie } }',
    ].join('\n');
    const config = parseConfig(text, 'nodes.yaml', { U: 'bob', P: `${PASSWORD}@2`, C: `carol:${PASSWORD}@3` }, dir.path);

    const shown = [
      JSON.stringify(config),
      inspect(config, { depth: Infinity, showHidden: true }),
      String(config.nodes.map((n) => `${n.id} ${n.url} ${String(n.credentials)}`)),
      config.nodes.map((n) => n.credentials?.describe()).join(' '),
    ].join('\n');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(encodeURIComponent(PASSWORD));
    expect(config.nodes[0]!.url).toBe('http://h:1/n/a');
  });

  it.each([
    ['a URL with a bad port', node(`    url: http://alice:${PASSWORD}@h:99999\n`)],
    ['a URL with an unsupported scheme', node(`    url: ftp://alice:${PASSWORD}@h\n`)],
    ['a URL with no host', node(`    url: "http://alice:${PASSWORD}@"\n`)],
    ['a URL with spaces in the password and a bad port', node(`    url: "http://alice:Sup3r Secret Pw@h:x"\n`)],
    ['a URL with an unencoded # in the password', node(`    url: "http://alice:Sup3r#${PASSWORD}@h:8545"\n`)],
    ['a URL with a password that is not valid percent-encoding', node(`    url: "http://alice:${PASSWORD}%zz%E0%A4%A@h"\n`)],
    ['a URL with a password and an auth block', node(`    url: http://alice:${PASSWORD}@h\n    auth: { env: X }\n`)],
    ['a URL with a user name only, being the password', node(`    url: http://${PASSWORD}@h\n`)],
    ['a URL in the chain key', `nodes:\n  - id: a\n    chain: http://alice:${PASSWORD}@h\n    url: http://h:1\n`],
    ['a URL in the id key', `nodes:\n  - id: http://alice:${PASSWORD}@h\n    chain: bsc\n    url: http://h:1\n`],
    ['a URL in a tag', node(`    url: http://h:1\n    tags: ["http://alice:${PASSWORD}@h"]\n`)],
    ['a URL as a key', node(`    url: http://h:1\n    "http://alice:${PASSWORD}@h": true\n`)],
    ['a password in place of a variable name', node(`    url: http://h:1\n    auth: { env: "alice:${PASSWORD}" }\n`)],
    ['a password in place of a variable name (split form)', node(`    url: http://h:1\n    auth: { usernameEnv: alice, passwordEnv: "${PASSWORD}!" }\n`)],
    ['a YAML syntax error on the line with the password', `nodes:\n  - id: a\n    url: http://alice:${PASSWORD}@h: x\n`],
    ['a YAML syntax error with the password in a flow mapping', `nodes: [{ id: a, url: "http://alice:${PASSWORD}@h" x }]\n`],
  ])('when the file has %s, then the password is not in the error', async (_name, text) => {
    const err = await configErrorOf(() => parseConfig(text, 'nodes.yaml', { X: 'bob:other-password' }, dir.path));
    expect(err.issues.length).toBeGreaterThan(0);
    expect(everythingShown(err)).not.toMatch(/Sup3r/);
  });

  it.each([
    ['a JSON syntax error right after the password', `{"nodes": [{"id": "a", "url": "http://alice:${PASSWORD}@h" x}]}`],
    ['a JSON string with a raw line break after the password', `{"nodes": [{"id": "a", "url": "http://alice:${PASSWORD}\n@h"}]}`],
    ['an unexpected token inside the password', `{"nodes": [{"id": "a", "url": http://alice:${PASSWORD}@h}]}`],
  ])('when the JSON file has %s, then the password is not in the error', async (_name, text) => {
    const err = await configErrorOf(() => parseConfig(text, 'nodes.json', {}, dir.path));
    expect(err.issues[0]!.line).toBe(1);
    expect(everythingShown(err)).not.toMatch(/Sup3r/);
  });

  it('when credential variables hold secrets and the file is wrong elsewhere, then no value appears', async () => {
    const text = node('    url: http://h:1\n    auth: { env: C }\n    colour: blue\n  - id: b\n    chain: bsc\n    url: http://h:2\n    auth: { env: NOCOLON }\n');
    const err = await configErrorOf(() => parseConfig(text, 'nodes.yaml', { C: `carol:${PASSWORD}`, NOCOLON: PASSWORD }, dir.path));
    expect(err.issues.map((i) => i.path)).toEqual(['nodes[0].colour', 'nodes[1].auth.env']);
    expect(everythingShown(err)).not.toMatch(/Sup3r/);
  });

  it('when any password sits in any broken URL, then no message contains it (property)', async () => {
    const password = fc.string({ unit: fc.constantFrom(...'abcdefXYZ0123456789-_.~!$&()*+;=%@: #?/'.split('')), minLength: 8, maxLength: 24 })
      .filter((p) => /[A-Za-z0-9]{4}/.test(p));
    const template = fc.constantFrom(
      (p: string) => `http://user:${p}@host:8545/x`,
      (p: string) => `https://user:${p}@`,
      (p: string) => `ftp://user:${p}@host`,
      (p: string) => `http://user:${p}@host:70000`,
      (p: string) => `http//user:${p}@host`,
      (p: string) => `user:${p}@host`,
    );
    await fc.assert(fc.asyncProperty(password, template, async (p, make) => {
      const text = JSON.stringify({ nodes: [{ id: 'a', chain: 'evm', url: make(p), extra: 1 }] });
      const err = await configErrorOf(() => parseConfig(text, 'nodes.json', {}, dir.path));
      const shown = everythingShown(err);
      // Every run-of-4 alphanumerics of the password stays hidden, not just the whole string.
      for (const chunk of p.match(/[A-Za-z0-9]{4,}/g) ?? []) {
        if (!['user', 'host', 'http', 'https', 'node'].some((word) => word.includes(chunk) || chunk.includes(word))) expect(shown).not.toContain(chunk);
      }
    }), { numRuns: 300 });
  });
});
