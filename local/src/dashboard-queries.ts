/**
 * The dashboards' panel queries as data, read from the rendered dashboards
 * (observability/grafana/dashboards/*.json, written by `npm run render` from
 * tools/render/src/dashboards — the one definition of every query), and
 * `toPromQL()`, which turns Grafana's expression into one Prometheus' HTTP
 * API runs as is. The drill report evaluates the panels that matter for a
 * drill with them; tools/render's "every panel shows data" check uses the
 * same `toPromQL`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `expr` with Grafana's macros and template variables replaced, so that
 * Prometheus can evaluate it: `$__rate_interval` and friends become
 * `rateInterval` (default 1m), and `$var` / `${var}` the value in `vars`
 * (default `.*`, Grafana's "All" for these dashboards).
 */
export function toPromQL(
  expr: string,
  options: { rateInterval?: string; vars?: Readonly<Record<string, string>> } = {},
): string {
  const interval = options.rateInterval ?? '1m';
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, interval)
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      return options.vars?.[name] ?? '.*';
    });
}

/** Where `npm run render` writes the dashboards, relative to the repository root. */
export const RENDERED_DASHBOARDS = 'observability/grafana/dashboards';

/** A panel by its dashboard's file (without `.json`) and its title, e.g. `{ dashboard: 'resilience', title: 'Breaker state' }`. */
export interface PanelRef {
  readonly dashboard: string;
  readonly title: string;
}

/** What the report needs of a rendered panel. */
export interface DashboardPanel extends PanelRef {
  readonly description: string;
  readonly type: string;
  /** Grafana unit id (`reqps`, `s`, `percentunit`, …). */
  readonly unit?: string;
  /** Value → text (a state timeline's `0: closed, 1: half-open, 2: open`). */
  readonly valueText?: Readonly<Record<string, string>>;
  readonly queries: readonly { readonly expr: string; readonly legend?: string }[];
}

interface RenderedPanel {
  type?: string;
  title?: string;
  description?: string;
  panels?: RenderedPanel[];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      mappings?: { type?: string; options?: Record<string, { text?: string }> }[];
    };
  };
  targets?: { expr?: string; legendFormat?: string }[];
}

const cache = new Map<string, RenderedPanel[]>();

function renderedPanels(root: string, dashboard: string): RenderedPanel[] {
  const file = path.join(root, RENDERED_DASHBOARDS, `${dashboard}.json`);
  let panels = cache.get(file);
  if (!panels) {
    const model = JSON.parse(readFileSync(file, 'utf8')) as { panels?: RenderedPanel[] };
    panels = (model.panels ?? []).flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
    cache.set(file, panels);
  }
  return panels;
}

/** The rendered panel `ref` names; throws naming the dashboard file and title when there is none. */
export function dashboardPanel(root: string, ref: PanelRef): DashboardPanel {
  const panel = renderedPanels(root, ref.dashboard).find((p) => p.title === ref.title);
  if (!panel) throw new Error(`no panel "${ref.title}" in ${RENDERED_DASHBOARDS}/${ref.dashboard}.json`);
  const defaults = panel.fieldConfig?.defaults;
  const valueText: Record<string, string> = {};
  for (const m of defaults?.mappings ?? [])
    if (m.type === 'value')
      for (const [value, o] of Object.entries(m.options ?? {})) if (o.text) valueText[value] = o.text;
  return {
    ...ref,
    description: panel.description ?? '',
    type: panel.type ?? 'timeseries',
    ...(defaults?.unit ? { unit: defaults.unit } : {}),
    ...(Object.keys(valueText).length ? { valueText } : {}),
    queries: (panel.targets ?? [])
      .filter((t) => t.expr)
      .map((t) => ({ expr: t.expr as string, ...(t.legendFormat ? { legend: t.legendFormat } : {}) })),
  };
}
