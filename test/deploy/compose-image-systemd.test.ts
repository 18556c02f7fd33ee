import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

// No Docker daemon here: the compose file and the Dockerfile are checked for what they
// promise; the systemd unit by systemd's own verifier.

const read = (p: string) => readFileSync(resolve(p), 'utf8');

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, { restart?: string; profiles?: string[]; command?: string[]; volumes?: string[]; environment?: Record<string, string> }>; volumes?: Record<string, unknown> };

  it('restarts every service after a crash or a reboot', () => {
    for (const [name, s] of Object.entries(compose.services)) expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
  });

  it('keeps Redis data on a named volume with the append-only file on', () => {
    const redis = compose.services.redis!;
    const cmd = redis.command!.join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).not.toMatch(/--save ''|--save ""|--appendonly no/);
    const [volume, target] = redis.volumes![0]!.split(':');
    expect(target).toBe('/data');
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it('runs the replicas on the mounted nodes file and the demo only as its own profile', () => {
    for (const name of ['nodesentry-a', 'nodesentry-b']) {
      const s = compose.services[name]!;
      expect(s.profiles).toBeUndefined();
      expect(s.environment!.NODESENTRY_CONFIG).toBe('/config/nodes.yaml');
      expect(s.volumes).toContain('./config:/config:ro');
    }
    const demo = compose.services.demo!;
    expect(demo.profiles).toEqual(['demo']);
    expect(demo.command).toEqual(['demo']);
    expect(demo.environment?.REDIS_URL).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const nodeImage = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(text);

  it('builds on a Node.js LTS that is still maintained, while package.json still admits Node 20', () => {
    expect(nodeImage).not.toBeNull();
    const major = Number(nodeImage![1]);
    // Even majors are LTS; end of life per https://github.com/nodejs/release#release-schedule
    const endOfLife: Record<number, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };
    expect(endOfLife[major]).toBeDefined();
    expect(Date.parse(endOfLife[major]!)).toBeGreaterThan(Date.now());
    // Both stages use it.
    expect(text.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=20\./);
  });

  it('copies everything the build reads, records the commit, and runs serve as an unprivileged user', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    // Every local file the build script runs is copied into the build stage.
    for (const m of pkg.scripts.build!.matchAll(/node (\S+)/g)) expect(text).toContain(`COPY ${m[1]!.split('/')[0]} ./${m[1]!.split('/')[0]}`);
    expect(text).toMatch(/ARG NODESENTRY_COMMIT/);
    expect(text).toMatch(/NODESENTRY_COMMIT=\$\{NODESENTRY_COMMIT\} npm ci/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^CMD \["serve"\]$/m);
  });
});

describe('deploy/systemd/nodesentry.service', () => {
  it('when verified by systemd-analyze, then it has no errors or warnings', async () => {
    const r = await new Promise<{ code: number; out: string }>((done) => {
      execFile('systemd-analyze', ['verify', resolve('deploy/systemd/nodesentry.service')], { timeout: 20_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    // Lines about the unit itself (other units on this machine may have their own complaints).
    expect(r.out.split('\n').filter((l) => l.includes('nodesentry.service'))).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('stops with SIGTERM, reloads with SIGHUP, restarts on failure and runs as its own user', () => {
    const unit = read('deploy/systemd/nodesentry.service');
    for (const line of ['KillSignal=SIGTERM', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'User=nodesentry', 'NoNewPrivileges=yes', 'Environment=NODESENTRY_CONFIG=/etc/nodesentry/nodes.yaml']) expect(unit).toContain(`\n${line}\n`);
    expect(unit).toMatch(/^ExecStart=\S+node \/opt\/nodesentry\/dist\/cli\.js serve$/m);
  });
});
