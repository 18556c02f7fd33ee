import pLimit from 'p-limit';

describe('toolchain', () => {
  it('runs ESM-only p-limit under Jest', async () => {
    const limit = pLimit(1);
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        limit(async () => {
          order.push(n);
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(process.env.REDIS_URL).toMatch(/^redis:\/\//);
  });
});
