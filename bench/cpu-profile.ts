import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A CPU profile of part of this process's life (node's --cpu-prof covers all of it, start-up
 * and warm-up included). `stop` writes `<dir>/<name>.cpuprofile`, for Chrome DevTools or
 * speedscope.
 */
export async function startCpuProfile(dir: string, name: string): Promise<{ stop: () => Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const path = join(dir, `${name}.cpuprofile`);
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
  };
}
