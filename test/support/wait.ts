/** Waiting helpers for tests that watch real processes, sockets and timers settle. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 25 ms until it holds; fail after `timeoutMs`. Resolves with the time it took. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(25);
  }
  return Date.now() - start;
}
