// Prometheus metrics of the API's own requests.
import type { Metric, Registry } from 'prom-client';

// From an answer out of memory (well under a millisecond) to a slow store read.
const HTTP_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const METHOD_INDEX: ReadonlyMap<string, number> = new Map(METHODS.map((m, i) => [m, i]));
/** Label of a method not in METHODS; its index follows theirs. */
const OTHER_METHOD = 'other';
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const NAME = 'nodesentry_http_request_duration_seconds';
const HELP =
  'API requests served by this process: time from arrival to the last byte written, by method, route template and status class.';

type Labels = { readonly method: string; readonly route: string; readonly status_class: string };

/** One label set's observations: a count per bucket (not cumulative), their sum and count. */
class Cell {
  readonly counts = new Float64Array(HTTP_BUCKETS_S.length);
  sum = 0;
  count = 0;
  constructor(readonly labels: Labels) {}
}

/** A value in prom-client's exposition shape: `labels` are the line's own (`le`), `sharedLabels` the label set's. */
interface ExportedValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Labels;
  readonly value: number;
}

/**
 * The API's own requests: one histogram by method, route template and status class. Labels are
 * bounded by construction: the route is the template express matched (`/v1/nodes/:id`, never
 * the id), `unmatched` when none did; other methods are `other`; status codes fold into their
 * class. Event streams (/v1/events) count once, when they end, with their whole lifetime.
 *
 * Every request is observed, the load balancers' probes most of all (tens of thousands a
 * second), so observing is a lookup and three additions. prom-client's `Histogram.observe`
 * validated the labels, built a hash string of them and looked it up, and keyed its buckets by
 * the bound as a property name: 0.7-0.9 µs per call, 2.5-3 % of a probe answer's CPU (issue #17,
 * bench/RESULTS.md section 8). This metric is registered in the same registry and exposed in
 * exactly the text prom-client's histogram gives for the same observations (a test compares
 * both), so dashboards, rules and the real-Prometheus test read it unchanged.
 */
export class HttpMetrics {
  /** Per route template: cells indexed by method index x status class. */
  readonly #cells = new Map<string, (Cell | undefined)[]>();
  /** Every cell in the order it was first observed: prom-client exports label sets in that order. */
  readonly #order: Cell[] = [];

  constructor(registry: Registry) {
    // prom-client's registry asks of a metric only these members (registerMetric, metrics(),
    // getMetricsAsJSON(), resetMetrics()); its type names its own classes, hence the cast.
    const metric = {
      name: NAME,
      help: HELP,
      type: 'histogram',
      aggregator: 'sum',
      getForPromString: () => Promise.resolve(this.#export()),
      get: () => Promise.resolve(this.#exportJson()),
      reset: () => {
        this.#cells.clear();
        this.#order.length = 0;
      },
    };
    registry.registerMetric(metric as unknown as Metric);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const m = METHOD_INDEX.get(method) ?? METHODS.length;
    const c = Math.floor(status / 100) - 1;
    const cls = c >= 0 && c < STATUS_CLASSES.length ? c : STATUS_CLASSES.length - 1;
    let cells = this.#cells.get(route);
    if (cells === undefined) {
      cells = new Array<Cell | undefined>((METHODS.length + 1) * STATUS_CLASSES.length).fill(undefined);
      this.#cells.set(route, cells);
    }
    const at = m * STATUS_CLASSES.length + cls;
    let cell = cells[at];
    if (cell === undefined) {
      cell = cells[at] = new Cell({ method: METHODS[m] ?? OTHER_METHOD, route, status_class: STATUS_CLASSES[cls]! });
      this.#order.push(cell);
    }
    // prom-client's bound: the first bucket whose upper bound is >= the value; above all, +Inf only.
    for (let i = 0; i < HTTP_BUCKETS_S.length; i++) {
      if (seconds <= HTTP_BUCKETS_S[i]!) {
        cell.counts[i]! += 1;
        break;
      }
    }
    cell.sum += seconds;
    cell.count += 1;
  }

  /** The values prom-client's Histogram.getForPromString gives: cumulative buckets, +Inf, sum, count per label set, in first-observed order. */
  #export(): { name: string; help: string; type: string; values: ExportedValue[]; aggregator: string } {
    const values: ExportedValue[] = [];
    const bucket = `${NAME}_bucket`;
    for (const cell of this.#order) {
      let acc = 0;
      for (let i = 0; i < HTTP_BUCKETS_S.length; i++) {
        acc += cell.counts[i]!;
        values.push({ metricName: bucket, labels: { le: HTTP_BUCKETS_S[i]! }, sharedLabels: cell.labels, value: acc });
      }
      values.push({ metricName: bucket, labels: { le: '+Inf' }, sharedLabels: cell.labels, value: cell.count });
      values.push({ metricName: `${NAME}_sum`, labels: {}, sharedLabels: cell.labels, value: cell.sum });
      values.push({ metricName: `${NAME}_count`, labels: {}, sharedLabels: cell.labels, value: cell.count });
    }
    return { name: NAME, help: HELP, type: 'histogram', values, aggregator: 'sum' };
  }

  /** As prom-client's Histogram.get (getMetricsAsJSON): each value's labels are its line's and its set's together. */
  #exportJson(): { name: string; help: string; type: string; values: object[]; aggregator: string } {
    const e = this.#export();
    // prom-client gives bucket lines an `exemplar` (null without exemplars), sum and count none.
    const values = e.values.map((v) => ({
      metricName: v.metricName,
      labels: { ...v.labels, ...v.sharedLabels },
      value: v.value,
      ...('le' in v.labels ? { exemplar: null } : {}),
    }));
    return { ...e, values };
  }
}
