import { Histogram, Registry } from 'prom-client';
import { HttpMetrics } from '../../src/metrics/http-metrics.js';

/**
 * HttpMetrics keeps its own cells instead of prom-client's Histogram (cheaper per request), and
 * must expose exactly what that histogram did: the reference below is the code it replaced.
 */
const METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function reference(registry: Registry): (method: string, route: string, status: number, seconds: number) => void {
  const h = new Histogram({
    name: 'nodesentry_http_request_duration_seconds',
    help: 'API requests served by this process: time from arrival to the last byte written, by method, route template and status class.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (method, route, status, seconds) =>
    h.observe(
      {
        method: METHODS.has(method) ? method : 'other',
        route,
        status_class: CLASSES[Math.floor(status / 100) - 1] ?? '5xx',
      },
      seconds,
    );
}

/** Requests of every kind the API sees: methods it names and others, each status class and odd codes, durations on and between bounds. */
function traffic(): [string, string, number, number][] {
  const out: [string, string, number, number][] = [];
  const routes = ['/probe/nodes/:id', '/v1/chains/:chain/best', 'unmatched', '/v1/events'];
  const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'DELETE', 'BREW', 'get'];
  const statuses = [200, 204, 301, 400, 404, 503, 101, 0, 99, 600, 999];
  const seconds = [0, 0.0001, 0.0005, 0.00050001, 0.001, 0.003, 0.05, 0.7, 2.5, 5, 5.0001, 120];
  let i = 0;
  for (const s of seconds)
    for (const status of statuses) {
      out.push([methods[i % methods.length]!, routes[(i >> 1) % routes.length]!, status, s]);
      i++;
    }
  return out;
}

describe('HttpMetrics', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same requests, as text and as JSON', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const m = new HttpMetrics(ours);
    const ref = reference(theirs);
    for (const [method, route, status, s] of traffic()) {
      m.observe(method, route, status, s);
      ref(method, route, status, s);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    // Not vacuous: label sets of several routes, methods and classes, and values in the buckets.
    expect(text).toContain('nodesentry_http_request_duration_seconds_bucket{le="0.0005",method="GET"');
    expect(text).toContain('method="other"');
    expect(text).toMatch(/_count\{method="POST",route="[^"]+",status_class="5xx"\} [1-9]/);
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('is emptied by the registry’s reset, as prom-client’s metrics are, and counts again after', async () => {
    const ours = new Registry();
    const m = new HttpMetrics(ours);
    m.observe('GET', '/livez', 200, 0.0002);
    expect(await ours.metrics()).toContain('_count{method="GET",route="/livez",status_class="2xx"} 1');
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('_count');
    m.observe('GET', '/livez', 200, 0.0002);
    expect(await ours.metrics()).toContain('_count{method="GET",route="/livez",status_class="2xx"} 1');
  });
});
