import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Simulator } from '../../src/simulator/simulator.js';

// The built CLI as an operator runs it (`npm test` builds first).
const CLI = resolve('dist/cli.js');
const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { version: string };

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 15_000, env: { ...process.env, NODESENTRY_COMMIT: '' } },
      (error, out, err) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, err });
      },
    );
  });
}

describe('nodesentry (the CLI entry point)', () => {
  it.each([['--version'], ['version'], ['-V']])(
    'when run with %s, then it prints the version and the commit it was built from, exit 0',
    async (arg) => {
      const r = await cli(arg);
      expect(r).toMatchObject({ code: 0, err: '' });
      const m = /^nodesentry (\S+) \(commit (\S+), node (v\d+\.\d+\.\d+)\)\n$/.exec(r.out);
      expect(m).not.toBeNull();
      expect(m![1]).toBe(pkg.version);
      // The build records the commit (from git here): a hex id, not "unknown".
      expect(m![2]).toMatch(/^[0-9a-f]{40}$/);
      expect(JSON.parse(readFileSync(resolve('dist/build-info.json'), 'utf8')).commit).toBe(m![2]);
    },
  );

  it("when asked for help on a command, then it prints that command's options, not the overview", async () => {
    const probe = await cli('help', 'probe');
    expect(probe.code).toBe(0);
    expect(probe.out).toMatch(/^usage: nodesentry probe <url>/);
    expect(probe.out).toContain('--cookie-file');
    const serve = await cli('help', 'serve');
    expect(serve.out).toMatch(/^usage: nodesentry serve/);
    const overview = await cli('help');
    expect(overview.out).toMatch(/^nodesentry: watches/);
    const bad = await cli('help', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^nodesentry help: unknown command "nope"/);
  });

  it('when an option is unknown, then every command words it the same way: "nodesentry <command>: unknown option ..."', async () => {
    for (const command of ['probe', 'serve', 'demo', 'simulate']) {
      const r = await cli(command, '--bogus');
      expect(r.code).toBe(2);
      const first = r.err.split('\n')[0]!;
      expect(first).toBe(`nodesentry ${command}: unknown option '--bogus'`);
    }
  });

  describe('probe', () => {
    let sim: Simulator;
    beforeAll(async () => {
      sim = await Simulator.start({ nodes: [{ id: 'bsc', kind: 'bsc' }] });
    });
    afterAll(() => sim.close());

    it("when a node is probed, then the url line is aligned with the sample's other lines", async () => {
      const r = await cli('probe', sim.url('bsc'));
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^url\s+http:\/\//);
      const column = (l: string) => /^\S+(?: \S+)?\s+/.exec(l)![0].length;
      for (const l of lines) expect({ line: l, column: column(l) }).toEqual({ line: l, column: column(lines[0]!) });
    });
  });
});
