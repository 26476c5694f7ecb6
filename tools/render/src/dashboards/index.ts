/**
 * Breakwater's Grafana dashboards as code (@grafana/grafana-foundation-sdk),
 * rendered to JSON by `npm run render` (tools/render).
 *
 * Everything a test needs to check the dashboards is enumerable from here:
 * `renderedFiles()` (what render writes, for the staleness test),
 * `panelQueries()`, `variableQueries()` and `annotationQueries()` (every
 * PromQL expression, for the name check and for evaluating each panel
 * against a live Prometheus), and `toPromQL()` (Grafana's variables
 * replaced so Prometheus' HTTP API can run an expression as is).
 */
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { eventsDashboard } from './events.ts';
import { gatewayDashboard } from './gateway.ts';
import { loadTestDashboard } from './load-test.ts';
import { overviewDashboard } from './overview.ts';
import { dashboardsYaml, datasourcesYaml, zipkinDatasourceYaml } from './provisioning.ts';
import { resilienceDashboard } from './resilience.ts';

export { DASHBOARDS_DIR } from './provisioning.ts';

export interface BuiltDashboard {
  /** File name under observability/grafana/dashboards/. */
  readonly file: string;
  readonly model: Dashboard;
}

const builders = {
  'overview.json': overviewDashboard,
  'resilience.json': resilienceDashboard,
  'gateway.json': gatewayDashboard,
  'events.json': eventsDashboard,
  'load-test.json': loadTestDashboard,
} as const;

/** Builds every dashboard, with panel ids numbered in layout order (stable across renders). */
export function buildDashboards(): BuiltDashboard[] {
  return Object.entries(builders).map(([file, build]) => {
    const model = build().build();
    let id = 0;
    for (const panel of model.panels ?? []) {
      panel.id = ++id;
      for (const inner of (panel as RowPanel).panels ?? []) inner.id = ++id;
    }
    return { file, model };
  });
}

/** Every file `render` writes, keyed by its path relative to observability/grafana/. */
export function renderedFiles(dashboards: BuiltDashboard[] = buildDashboards()): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of dashboards) files.set(`dashboards/${d.file}`, `${JSON.stringify(d.model, null, 2)}\n`);
  files.set('provisioning/datasources/breakwater.yaml', datasourcesYaml());
  files.set('provisioning/datasources/zipkin.yaml', zipkinDatasourceYaml());
  files.set('provisioning/dashboards/breakwater.yaml', dashboardsYaml());
  return files;
}

export interface PanelQuery {
  readonly dashboard: string; // uid
  readonly panel: string; // title
  readonly refId: string;
  readonly expr: string;
  /** Grafana's legend format (`{{service}} {{route}}`), if set. */
  readonly legend?: string;
}

const idOf = (model: Dashboard): string => model.uid ?? model.title ?? '';

function panelsOf(model: Dashboard): Panel[] {
  return (model.panels ?? []).flatMap((p) =>
    p.type === 'row' ? ((p as RowPanel).panels ?? []) : [p as Panel],
  );
}

/** Every PromQL expression of every panel. */
export function panelQueries(dashboards: BuiltDashboard[] = buildDashboards()): PanelQuery[] {
  return dashboards.flatMap(({ model }) =>
    panelsOf(model).flatMap((panel) =>
      (panel.targets ?? []).map((t) => {
        const target = t as { refId?: string; expr?: string; legendFormat?: string };
        return {
          dashboard: idOf(model),
          panel: panel.title ?? '',
          refId: target.refId ?? '',
          expr: target.expr ?? '',
          ...(target.legendFormat ? { legend: target.legendFormat } : {}),
        };
      }),
    ),
  );
}

/** Every template variable's query (`label_values(metric{…}, label)`). */
export function variableQueries(
  dashboards: BuiltDashboard[] = buildDashboards(),
): { dashboard: string; variable: string; query: string }[] {
  return dashboards.flatMap(({ model }) =>
    (model.templating?.list ?? []).map((v) => ({
      dashboard: idOf(model),
      variable: v.name,
      query: typeof v.query === 'string' ? v.query : JSON.stringify(v.query ?? ''),
    })),
  );
}

/** Every annotation's PromQL expression. */
export function annotationQueries(
  dashboards: BuiltDashboard[] = buildDashboards(),
): { dashboard: string; annotation: string; expr: string }[] {
  return dashboards.flatMap(({ model }) =>
    (model.annotations?.list ?? []).flatMap((a) => {
      const expr = (a as { expr?: string }).expr;
      return expr ? [{ dashboard: idOf(model), annotation: a.name, expr }] : [];
    }),
  );
}

/**
 * The metric selector inside `label_values(<selector>, <label>)`, or
 * undefined for another kind of variable query.
 */
export function labelValuesSelector(query: string): string | undefined {
  return /^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$/.exec(query.trim())?.[1];
}

// One definition of the Grafana → PromQL expansion, shared with the drill report (local).
export { toPromQL } from '@breakwater/local/dashboard-queries';

/** The dashboard file names, in render order. */
export const dashboardFiles: readonly string[] = Object.keys(builders);
