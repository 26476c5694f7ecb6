/**
 * The building blocks every Breakwater dashboard shares: the provisioned
 * Prometheus datasource, panel helpers with the house defaults, template
 * variables and the drill fault-window annotation.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  type DataSourceRef,
  MappingType,
  type Panel,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus datasource the provisioning file creates (same uid). */
export const DATASOURCE_UID = 'bw-prometheus';
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UID };

/** One PromQL query of a panel. */
export interface Query {
  readonly expr: string;
  /** Series name in the legend, e.g. `{{service}} {{route}}`. */
  readonly legend?: string;
  /** Ask Prometheus for exemplars (trace ids on histogram buckets). */
  readonly exemplars?: boolean;
  /** An instant query (stats, tables) instead of a range query. */
  readonly instant?: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly Query[];
  /** Grafana unit id: `reqps`, `s`, `percentunit`, `short`, … */
  readonly unit?: string;
  /** Width in grid columns (24 = full width; default 12) and height in rows (default 8). */
  readonly w?: number;
  readonly h?: number;
  readonly min?: number;
  readonly max?: number;
  readonly stacked?: boolean;
}

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((q, i) => {
    const t = new DataqueryBuilder()
      .datasource(PROMETHEUS)
      .refId(String.fromCharCode(65 + i))
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto');
    if (q.exemplars) t.exemplar(true);
    if (q.instant) t.instant();
    else t.range();
    return t;
  });
}

const legend = () =>
  new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .calcs([]);

const tooltip = () =>
  new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);

/** The builder methods every panel here takes from its PanelSpec. */
interface SpecBuilder<B> {
  title(title: string): B;
  description(description: string): B;
  datasource(ref: DataSourceRef): B;
  targets(targets: cog.Builder<cog.Dataquery>[]): B;
  unit(unit: string): B;
  span(w: number): B;
  height(h: number): B;
}

/**
 * Title, description, the Prometheus datasource, the queries, the unit
 * (`short` by default; none with `unit: false`) and the size (`spec.w`/`spec.h`
 * or the panel's default), set in the order the committed dashboards were
 * rendered with (the JSON's key order follows it).
 */
function fromSpec<B extends SpecBuilder<B>>(
  b: B,
  spec: PanelSpec,
  o: { w: number; h: number; unit?: false; queries?: readonly Query[] },
): B {
  const withTargets = b
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .targets(targets(o.queries ?? spec.queries));
  const withUnit = o.unit === false ? withTargets : withTargets.unit(spec.unit ?? 'short');
  return withUnit.span(spec.w ?? o.w).height(spec.h ?? o.h);
}

/** A time series panel. */
export function timeseries(spec: PanelSpec): cog.Builder<Panel> {
  const p = fromSpec(new TimeseriesPanelBuilder(), spec, { w: 12, h: 8 })
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(1)
    .fillOpacity(spec.stacked ? 30 : 10);
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  if (spec.stacked) p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  return p;
}

/** Threshold steps from low to high: the first step's value is the base (-Infinity). */
export type Steps = readonly (readonly [value: number | null, color: string])[];

function thresholds(steps: Steps): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** A single-value panel, coloured by thresholds. */
export function stat(
  spec: PanelSpec & { readonly steps?: Steps; readonly mappings?: ValueMapping[] },
): cog.Builder<Panel> {
  const p = fromSpec(new StatPanelBuilder(), spec, { w: 6, h: 5 })
    .colorMode(BigValueColorMode.Value)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(spec.steps ?? [[null, 'green']]));
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  if (spec.mappings) p.mappings(spec.mappings);
  return p;
}

/** A state timeline: discrete states over time, one band per series. */
export function stateTimeline(
  spec: PanelSpec & { readonly mappings: ValueMapping[]; readonly steps: Steps },
): cog.Builder<Panel> {
  return fromSpec(new StateTimelinePanelBuilder(), spec, { w: 24, h: 8, unit: false })
    .mappings(spec.mappings)
    .thresholds(thresholds(spec.steps))
    .mergeValues(true)
    .legend(legend());
}

/** A table of the current value per series (instant queries). */
export function table(spec: PanelSpec): cog.Builder<Panel> {
  const instant = spec.queries.map((q) => ({ ...q, instant: true }));
  return fromSpec(new TablePanelBuilder(), spec, { w: 12, h: 8, queries: instant })
    .withTransformation({ id: 'labelsToFields', options: { mode: 'columns' } })
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true, __name__: true, job: true, instance: true } },
    });
}

/** Value mappings from numbers to text and colour. */
export function valueText(
  entries: readonly (readonly [value: number, text: string, color: string])[],
): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(
        entries.map(([value, text, color], index) => [String(value), { text, color, index }]),
      ),
    },
  ];
}

/**
 * A multi-value template variable with an "All" option over the values of
 * `label` on `metric` (selected by `matchers`, e.g. `service=~"$service"`).
 */
export function labelVariable(
  name: string,
  label: string,
  metric: string,
  options: { readonly title?: string; readonly matchers?: string; readonly multi?: boolean } = {},
): QueryVariableBuilder {
  const selector = options.matchers ? `${metric}{${options.matchers}}` : metric;
  const query = `label_values(${selector}, ${label})`;
  const multi = options.multi ?? true;
  const v = new QueryVariableBuilder(name)
    .label(options.title ?? name)
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(multi)
    .includeAll(multi);
  if (multi) v.allValue('.*').current({ text: 'All', value: '$__all', selected: true });
  return v;
}

/**
 * Shades the time windows in which a drill injected a fault. The drill
 * runner exports `bw_drill_fault_active{drill, fault, target}` = 1 while a
 * fault is on.
 */
export function faultWindows(): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name('Drill faults')
    .datasource(PROMETHEUS)
    .enable(true)
    .iconColor('rgba(255, 96, 96, 1)')
    .expr('max by (drill, fault, target) (bw_drill_fault_active) > 0')
    .step('5s')
    .titleFormat('{{fault}} on {{target}}')
    .textFormat('drill {{drill}}')
    .tagKeys('drill,fault,target');
}

/** A dashboard with the house defaults: UTC, 30 minutes, 10 s refresh, shared crosshair. */
export function dashboard(
  uid: string,
  title: string,
  description: string,
  tags: readonly string[],
): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['breakwater', ...tags])
    .timezone('utc')
    .time({ from: 'now-30m', to: 'now' })
    .refresh('10s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .annotation(faultWindows());
}

/** The PromQL matcher that filters `label` by a multi-value variable of the same name. */
export const byVar = (label: string, variable: string = label): string => `${label}=~"$${variable}"`;
