/**
 * Breakwater's one prom-client registry and the only way to create a metric:
 * `counter('upstreamTries')`, `gauge('breakerState')`, `histogram('upstreamDuration')`
 * look the entry up in `metric-names.ts` and return the same instance every time
 * (get-or-create), so two modules asking for one metric never collide.
 *
 * Scrape with `renderMetrics(acceptHeader)`: Prometheus text by default,
 * OpenMetrics (with exemplars) when the Accept header asks for it.
 */
import client from 'prom-client';
import { METRICS, type MetricKey, type MetricSpec } from './metric-names.ts';

// The registry is created in OpenMetrics mode because prom-client only lets
// exemplar-enabled histograms join an OpenMetrics registry; `renderMetrics`
// switches it to Prometheus text for a plain scrape.
export const registry = new (
  client.Registry as unknown as new (
    contentType: client.RegistryContentType,
  ) => client.Registry<client.OpenMetricsContentType>
)(client.Registry.OPENMETRICS_CONTENT_TYPE);

/** The registry seen as switchable between both formats (`renderMetrics` only). */
const switchable = registry as unknown as {
  setContentType(t: client.RegistryContentType): void;
  metrics(): Promise<string>;
};

type SpecOf<K extends MetricKey> = (typeof METRICS)[K];
type LabelsOf<K extends MetricKey> = SpecOf<K>['labels'][number];
// The catalogue's `spec()` widens `type` to MetricType, so the kind cannot be
// told apart at compile time; each getter checks it at run time instead.
export type CounterKey = MetricKey;
export type GaugeKey = MetricKey;
export type HistogramKey = MetricKey;

function specOf(key: MetricKey, type: MetricSpec['type']): MetricSpec {
  const spec: MetricSpec | undefined = METRICS[key];
  if (!spec) throw new RangeError(`unknown metric key: ${String(key)} (declare it in metric-names.ts)`);
  if (spec.type !== type)
    throw new TypeError(`metric ${key} (${spec.name}) is a ${spec.type}, not a ${type}`);
  return spec;
}

/** Default buckets for request durations, in seconds (1 ms … 10 s). */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

const created = new Map<MetricKey, client.Metric<string>>();

function labelNames(spec: MetricSpec): string[] {
  return [...spec.labels];
}

/** The counter declared as `key` in the catalogue (created on first use). */
export function counter<K extends CounterKey>(key: K): client.Counter<LabelsOf<K>> {
  let m = created.get(key);
  if (!m) {
    const spec = specOf(key, 'counter');
    m = new client.Counter({
      name: spec.name,
      help: spec.help,
      labelNames: labelNames(spec),
      registers: [registry],
    });
    created.set(key, m);
  } else if (!(m instanceof client.Counter)) {
    specOf(key, 'counter'); // throws: the catalogue declares another kind
  }
  return m as client.Counter<LabelsOf<K>>;
}

/** The gauge declared as `key` in the catalogue (created on first use). */
export function gauge<K extends GaugeKey>(key: K): client.Gauge<LabelsOf<K>> {
  let m = created.get(key);
  if (!m) {
    const spec = specOf(key, 'gauge');
    m = new client.Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: labelNames(spec),
      registers: [registry],
    });
    created.set(key, m);
  } else if (!(m instanceof client.Gauge)) {
    specOf(key, 'gauge'); // throws: the catalogue declares another kind
  }
  return m as client.Gauge<LabelsOf<K>>;
}

export interface HistogramSettings {
  /** Bucket upper bounds; default `DURATION_BUCKETS` (seconds). */
  buckets?: readonly number[];
  /**
   * Keep an exemplar (e.g. `trace_id`) per bucket, shown on OpenMetrics
   * scrapes. Default false. When on, prom-client only accepts the object form
   * `observe({ labels, value, exemplarLabels })` or `labels(...).observe(v)`.
   */
  exemplars?: boolean;
}

/**
 * The histogram declared as `key` (created on first use; `settings` only
 * apply to the first call).
 */
export function histogram<K extends HistogramKey>(
  key: K,
  settings: HistogramSettings = {},
): client.Histogram<LabelsOf<K>> {
  let m = created.get(key);
  if (!m) {
    const spec = specOf(key, 'histogram');
    m = new client.Histogram({
      name: spec.name,
      help: spec.help,
      labelNames: labelNames(spec),
      buckets: [...(settings.buckets ?? DURATION_BUCKETS)],
      enableExemplars: settings.exemplars ?? false,
      registers: [registry],
    });
    created.set(key, m);
  } else if (!(m instanceof client.Histogram)) {
    specOf(key, 'histogram'); // throws: the catalogue declares another kind
  }
  return m as client.Histogram<LabelsOf<K>>;
}

interface HistogramInternals {
  hashMap: Record<
    string,
    { labels: Record<string, string>; bucketValues: Record<number, number>; sum: number; count: number }
  >;
  upperBounds: number[];
}

/**
 * A pre-bound observer for one label set of a histogram, for hot paths.
 * prom-client's `labels(...).observe(v)` rebuilds and re-hashes the label set
 * on every call; this finds the series once and updates its bucket, sum and
 * count in place — what prom-client 15's own `observe` does after hashing.
 * If the series disappears (a registry reset), it falls back to the public
 * API, which recreates it, and binds again. Not for exemplars.
 */
export function boundObserver<L extends string>(
  h: client.Histogram<L>,
  labels: Partial<Record<L, string | number>>,
): (value: number) => void {
  const child = h.labels(labels);
  const internals = h as unknown as HistogramInternals;
  let entry: HistogramInternals['hashMap'][string] | undefined;
  let key: string | undefined;
  const names = Object.keys(labels) as L[];
  const bind = () => {
    for (const k in internals.hashMap) {
      const e = internals.hashMap[k];
      if (e && names.every((n) => String(e.labels[n]) === String(labels[n]))) {
        entry = e;
        key = k;
        return;
      }
    }
  };
  return (value: number) => {
    if (
      entry !== undefined &&
      key !== undefined &&
      internals.hashMap[key] === entry &&
      Number.isFinite(value)
    ) {
      const bounds = internals.upperBounds;
      for (let i = 0; i < bounds.length; i++) {
        const b = bounds[i] as number;
        if (value <= b) {
          entry.bucketValues[b] = (entry.bucketValues[b] ?? 0) + 1;
          break;
        }
      }
      entry.sum += value;
      entry.count += 1;
      return;
    }
    child.observe(value);
    bind();
  };
}

const collectHooks = new Map<MetricKey, Array<() => void>>();

/**
 * Runs `hook` just before the metric `key` is scraped, to set gauges or add
 * counter deltas from plain numbers kept on a hot path (cheaper than touching
 * prom-client on every call). Returns a function that removes the hook.
 */
export function onCollect(key: MetricKey, hook: () => void): () => void {
  const metric = created.get(key) as (client.Metric<string> & { collect?: () => void }) | undefined;
  if (!metric) throw new RangeError(`metric ${String(key)} must be created before onCollect`);
  let hooks = collectHooks.get(key);
  if (!hooks) {
    const list: Array<() => void> = [];
    hooks = list;
    collectHooks.set(key, list);
    metric.collect = () => {
      for (const h of list) {
        try {
          h();
        } catch {
          // A failing hook must not break a scrape.
        }
      }
    };
  }
  hooks.push(hook);
  const list = hooks;
  return () => {
    const i = list.indexOf(hook);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Sets the `service` default label on every metric. Call once at start-up. */
export function setServiceLabel(service: string): void {
  registry.setDefaultLabels({ service });
}

let defaultsOn = false;
/** Node process metrics (CPU, memory, event loop lag, GC), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  client.collectDefaultMetrics({ register: registry });
}

/** Status class label for an HTTP status: `2xx` … `5xx`. */
export function statusClass(status: number): string {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

export const PROMETHEUS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = client.Registry.OPENMETRICS_CONTENT_TYPE;

// prom-client switches format per registry, and its OpenMetrics rendering
// strips `_total` from counter names in place; renders are therefore
// serialised and the names restored afterwards, so a Prometheus-text scrape
// never sees a half-switched registry.
let renderChain: Promise<unknown> = Promise.resolve();

/**
 * The registry's text: OpenMetrics when `accept` names
 * `application/openmetrics-text`, Prometheus text 0.0.4 otherwise.
 */
export function renderMetrics(accept?: string): Promise<{ contentType: string; body: string }> {
  const openMetrics = typeof accept === 'string' && accept.includes('application/openmetrics-text');
  const run = async () => {
    const contentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
    switchable.setContentType(contentType);
    try {
      return { contentType, body: await registry.metrics() };
    } finally {
      switchable.setContentType(OPENMETRICS_CONTENT_TYPE);
      for (const m of registry.getMetricsAsArray() as unknown as Array<{ name: string }>) {
        const declared = catalogueName.get(m.name.replace(/_total$/, ''));
        if (declared && declared !== m.name) m.name = declared;
      }
    }
  };
  const p = renderChain.then(run, run);
  renderChain = p.catch(() => undefined);
  return p;
}

/** Counter names as declared, keyed by the name without `_total`. */
const catalogueName = new Map<string, string>(
  Object.values(METRICS)
    .filter((m) => m.type === 'counter')
    .map((m) => [m.name.replace(/_total$/, ''), m.name]),
);
