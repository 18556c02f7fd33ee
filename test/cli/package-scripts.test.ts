import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// The README's commands run package scripts; each must point at a file the build produces
// (`npm test` builds first). A script naming a file that does not exist fails only for the
// user who types it.
describe('package.json entry points', () => {
  const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
  };

  it.each(['start', 'demo', 'simulate', 'soak'])('the %s script runs a file that exists after the build', (name) => {
    const script = pkg.scripts[name];
    expect(script).toBeDefined();
    const targets = [...script!.matchAll(/\bnode\s+(?:--\S+\s+)*(\S+\.m?js)\b/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets)
      expect({ script: name, file: t, exists: existsSync(resolve(t)) }).toEqual({
        script: name,
        file: t,
        exists: true,
      });
  });

  it('the nodesentry bin exists and is an executable script', () => {
    const bin = resolve(pkg.bin.nodesentry!);
    expect(existsSync(bin)).toBe(true);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
