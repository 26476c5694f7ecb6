/**
 * Runs every dashboard query through a live Prometheus' HTTP API: the check
 * behind "every panel shows data after a drill". Used by this workspace's
 * tests and by anything that has a Prometheus full of drill data.
 */
import {
  annotationQueries,
  type BuiltDashboard,
  buildDashboards,
  labelValuesSelector,
  type PanelQuery,
  panelQueries,
  toPromQL,
  variableQueries,
} from './index.ts';

export interface QueryOutcome<Q> {
  readonly query: Q;
  /** Series returned by an instant query at the current time. */
  readonly series: number;
  /** Prometheus' error, when it refused the query. */
  readonly error?: string;
}

export interface DataReport {
  readonly panels: QueryOutcome<PanelQuery>[];
  readonly variables: QueryOutcome<{ dashboard: string; variable: string; query: string }>[];
  readonly annotations: QueryOutcome<{ dashboard: string; annotation: string; expr: string }>[];
}

export interface ReportOptions {
  /** What `$__rate_interval` becomes (default 1m). */
  readonly rateInterval?: string;
  /** Template variable values (default: every variable is "All", `.*`). */
  readonly vars?: Readonly<Record<string, string>>;
  readonly dashboards?: BuiltDashboard[];
  readonly signal?: AbortSignal;
}

async function getJson(url: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const res = await fetch(url, signal ? { signal } : {});
  return (await res.json()) as Record<string, unknown>;
}

/** The number of series an instant query returns now, or Prometheus' error. */
export async function seriesCount(
  prometheusUrl: string,
  expr: string,
  signal?: AbortSignal,
): Promise<{ series: number; error?: string }> {
  const body = await getJson(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`, signal);
  if (body.status !== 'success') return { series: 0, error: String(body.error ?? body.status) };
  const data = body.data as { result?: unknown[] } | undefined;
  return { series: data?.result?.length ?? 0 };
}

/** Every panel, variable and annotation query of every dashboard, evaluated now. */
export async function dataReport(prometheusUrl: string, options: ReportOptions = {}): Promise<DataReport> {
  const dashboards = options.dashboards ?? buildDashboards();
  const promql = (expr: string) =>
    toPromQL(expr, {
      rateInterval: options.rateInterval ?? '1m',
      ...(options.vars ? { vars: options.vars } : {}),
    });

  const panels: QueryOutcome<PanelQuery>[] = [];
  for (const query of panelQueries(dashboards)) {
    panels.push({ query, ...(await seriesCount(prometheusUrl, promql(query.expr), options.signal)) });
  }

  const variables: DataReport['variables'] = [];
  for (const query of variableQueries(dashboards)) {
    const selector = labelValuesSelector(query.query);
    const label = /,\s*(\w+)\)\s*$/.exec(query.query)?.[1];
    if (!selector || !label) {
      variables.push({ query, series: 0, error: 'not a label_values(selector, label) query' });
      continue;
    }
    const body = await getJson(
      `${prometheusUrl}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': promql(selector) })}`,
      options.signal,
    );
    variables.push(
      body.status === 'success'
        ? { query, series: (body.data as unknown[]).length }
        : { query, series: 0, error: String(body.error ?? body.status) },
    );
  }

  const annotations: DataReport['annotations'] = [];
  for (const query of annotationQueries(dashboards)) {
    annotations.push({ query, ...(await seriesCount(prometheusUrl, promql(query.expr), options.signal)) });
  }
  return { panels, variables, annotations };
}

/** `dashboard / panel / refId` of every panel query that returned nothing or failed. */
export function emptyPanels(report: DataReport): string[] {
  return report.panels
    .filter((o) => o.series === 0)
    .map((o) => `${o.query.dashboard} / ${o.query.panel} / ${o.query.refId}${o.error ? `: ${o.error}` : ''}`);
}

/** Rules Prometheus failed to evaluate (`name: error`), and how many rules it has. */
export async function ruleErrors(
  prometheusUrl: string,
  signal?: AbortSignal,
): Promise<{ rules: number; evaluated: number; errors: string[] }> {
  const body = await getJson(`${prometheusUrl}/api/v1/rules`, signal);
  const groups = (
    body.data as { groups?: { rules: { name: string; health: string; lastError?: string }[] }[] }
  )?.groups;
  const rules = (groups ?? []).flatMap((g) => g.rules);
  return {
    rules: rules.length,
    evaluated: rules.filter((r) => r.health !== 'unknown').length,
    errors: rules.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError ?? 'error'}`),
  };
}
