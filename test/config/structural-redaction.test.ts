import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReplica } from '../support/replica-process.js';

// Issue 14, case 10, through the real CLI: config errors are redacted by structure (the value
// of a secret field), never by replacing every substring equal to a password, which garbled
// key paths ("nodes[0].auth.[redacted]wordEnv") and, with a password "chain", printed
// "unknown [redacted]", revealing it.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodesentry-structural-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serveError(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const file = join(dir, `nodes-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const r = await startReplica({ configFile: file, env: { REDIS_URL: '', LOG_LEVEL: 'warn', ...env }, waitListening: false });
  expect((await r.exited).code).toBe(2);
  return r.stderr();
}

describe('config errors redacted by structure', () => {
  it('when a password equals ordinary words of the messages, then paths and messages read as written and the password appears nowhere', async () => {
    const err = await serveError(
      [
        'nodes:',
        '  - { id: a, chain: bsx, url: "http://user:chain@127.0.0.1:1/" }',
        '  - id: b',
        '    chain: defichain',
        '    url: "http://127.0.0.1:2/"',
        '    auth: { usernameEnv: NOT_SET_USER_41, passwordEnv: NOT_SET_ANYWHERE_41 }',
        '  - { id: c, chain: bsc, url: "http://u:pass@127.0.0.1:3/", tier: wrong }',
        '',
      ].join('\n'),
    );
    expect(err).toMatch(/nodes\[0\]\.chain: unknown chain/);
    expect(err).toContain('nodes[1].auth.passwordEnv');
    expect(err).toMatch(/nodes\[2\]\.tier: /);
    expect(err).not.toContain('[redacted]');
    expect(err).not.toMatch(/user:chain|u:pass@/);
  });

  it('when a URL with a password is pasted as a key, then only that key is hidden, the rest of the message stays', async () => {
    const err = await serveError('nodes:\n  - id: a\n    chain: bsc\n    url: "http://127.0.0.1:1/"\n    "http://alice:Sup3rSecretPw@h": 1\n');
    expect(err).not.toContain('Sup3rSecretPw');
    expect(err).toContain('nodes[0]["<a key holding a secret, not shown>"]: unknown key');
  });
});
