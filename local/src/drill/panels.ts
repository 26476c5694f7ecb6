/**
 * The dashboard panels that matter for a drill, evaluated over the drill's
 * window against Prometheus (`/api/v1/query_range`) at the end of the run,
 * so the report shows them without a Grafana: the same queries as the
 * Resilience and Events dashboards (read from their render, see
 * ../dashboard-queries.ts), every template variable "All".
 *
 * Every drill gets {@link DEFAULT_PANELS} — breaker state, retries against
 * the budget, outbox backlog, stream lag — and may add its own
 * (`DrillSpec.panels`).
 */
import { type DashboardPanel, dashboardPanel, type PanelRef, toPromQL } from '../dashboard-queries.ts';
import { SCRAPE_INTERVAL_S } from '../prometheus.ts';

export type { PanelRef } from '../dashboard-queries.ts';

export const DEFAULT_PANELS: readonly PanelRef[] = [
  { dashboard: 'resilience', title: 'Breaker state' },
  { dashboard: 'resilience', title: 'Tries: first and retry' },
  { dashboard: 'resilience', title: 'Retries refused by the budget' },
  { dashboard: 'events', title: 'Outbox backlog' },
  { dashboard: 'events', title: 'Stream lag' },
];

/** The default panels, then the drill's own (each once). */
export function panelsFor(extra: readonly PanelRef[] = []): PanelRef[] {
  const all = [...DEFAULT_PANELS, ...extra];
  return all.filter((p, i) => all.findIndex((q) => q.dashboard === p.dashboard && q.title === p.title) === i);
}

export interface PanelSeries {
  label: string;
  /** One value per entry of the panel's `t` (null: no sample). */
  values: (number | null)[];
}

export interface PanelData {
  dashboard: string;
  title: string;
  description: string;
  type: string;
  unit?: string;
  valueText?: Record<string, string>;
  /** Seconds since the report's t = 0. */
  t: number[];
  series: PanelSeries[];
  /** Why the panel is empty (Prometheus refused the query, no panel of that title, …). */
  error?: string;
}

/** Grafana's legend format (`{{service}} → {{upstream}}`) filled from a series' labels. */
export function legendOf(format: string | undefined, labels: Record<string, string>): string {
  if (!format) {
    const inner = Object.entries(labels)
      .filter(([k]) => k !== '__name__')
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
    return inner ? `{${inner}}` : 'value';
  }
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, k: string) => labels[k] ?? '');
}

export interface WindowOptions {
  /** The report's t = 0 and the end of the drill, ms since the epoch. */
  readonly startMs: number;
  readonly endMs: number;
  readonly signal?: AbortSignal;
}

interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

async function queryRange(
  prometheusUrl: string,
  expr: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<MatrixResult[]> {
  const params = new URLSearchParams({
    query: expr,
    start: String(start),
    end: String(end),
    step: String(step),
  });
  const res = await fetch(`${prometheusUrl}/api/v1/query_range?${params}`, {
    signal: signal ?? AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { result?: MatrixResult[] } };
  if (body.status !== 'success') throw new Error(body.error ?? `Prometheus answered ${res.status}`);
  return body.data?.result ?? [];
}

/** One panel over the window: every query, every series on a shared time axis. */
export async function panelData(
  prometheusUrl: string,
  panel: DashboardPanel,
  window: WindowOptions,
): Promise<PanelData> {
  const start = Math.floor(window.startMs / 1000);
  const end = Math.ceil(window.endMs / 1000);
  // About 300 points at most; rate windows as Grafana's $__rate_interval: max(4 × scrape, step + scrape).
  const step = Math.max(1, Math.ceil((end - start) / 300));
  const rateInterval = `${Math.max(4 * SCRAPE_INTERVAL_S, step + SCRAPE_INTERVAL_S)}s`;
  const t: number[] = [];
  for (let s = start; s <= end; s += step) t.push(s);
  const base: PanelData = {
    dashboard: panel.dashboard,
    title: panel.title,
    description: panel.description,
    type: panel.type,
    ...(panel.unit ? { unit: panel.unit } : {}),
    ...(panel.valueText ? { valueText: { ...panel.valueText } } : {}),
    t: t.map((s) => s - window.startMs / 1000),
    series: [],
  };
  try {
    for (const q of panel.queries) {
      const results = await queryRange(
        prometheusUrl,
        toPromQL(q.expr, { rateInterval }),
        start,
        end,
        step,
        window.signal,
      );
      for (const r of results) {
        const byTime = new Map(r.values.map(([ts, v]) => [Math.round(ts), Number(v)]));
        base.series.push({
          label: legendOf(q.legend, r.metric),
          values: t.map((s) => {
            const v = byTime.get(s);
            return v === undefined || !Number.isFinite(v) ? null : v;
          }),
        });
      }
    }
  } catch (err) {
    return { ...base, error: (err as Error).message };
  }
  return base;
}

/** The panels `refs` over the window; a panel that cannot be read says why instead of failing the report. */
export async function fetchPanels(
  root: string,
  prometheusUrl: string,
  refs: readonly PanelRef[],
  window: WindowOptions,
): Promise<PanelData[]> {
  const out: PanelData[] = [];
  for (const ref of refs) {
    let panel: DashboardPanel;
    try {
      panel = dashboardPanel(root, ref);
    } catch (err) {
      out.push({
        ...ref,
        description: '',
        type: 'timeseries',
        t: [],
        series: [],
        error: (err as Error).message,
      });
      continue;
    }
    out.push(await panelData(prometheusUrl, panel, window));
  }
  return out;
}
