// Prometheus metrics of the API's own requests.
import { Histogram, type Registry } from 'prom-client';

// From an answer out of memory (well under a millisecond) to a slow store read.
const HTTP_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The API's own requests: one histogram by method, route template and status class. Labels are
 * bounded by construction: the route is the template express matched (`/v1/nodes/:id`, never
 * the id), `unmatched` when none did; other methods are `other`; status codes fold into their
 * class. Event streams (/v1/events) count once, when they end, with their whole lifetime.
 */
export class HttpMetrics {
  readonly #duration: Histogram<'method' | 'route' | 'status_class'>;

  constructor(registry: Registry) {
    this.#duration = new Histogram({
      name: 'nodesentry_http_request_duration_seconds',
      help: 'API requests served by this process: time from arrival to the last byte written, by method, route template and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: HTTP_BUCKETS_S,
      registers: [registry],
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const cls = STATUS_CLASSES[Math.floor(status / 100) - 1] ?? '5xx';
    this.#duration.observe({ method: METHODS.has(method) ? method : 'other', route, status_class: cls }, seconds);
  }
}
