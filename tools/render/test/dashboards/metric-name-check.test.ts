import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRICS } from '@breakwater/observability/metric-names';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  annotationQueries,
  labelValuesSelector,
  panelQueries,
  variableQueries,
} from '../../src/dashboards/index.ts';
import { REPO_ROOT } from '../../src/root.ts';
import { labelNames, legendLabels, metricNames } from './promql-names.ts';

// Every metric name a dashboard or a rule uses must be declared: by the
// catalogue (metric-names.ts), by a recording rule, by Prometheus itself, or
// by k6's remote-write output.

const rulesDir = join(REPO_ROOT, 'observability', 'prometheus', 'rules');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
}
const rules: { file: string; rule: Rule }[] = readdirSync(rulesDir)
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .flatMap((file) =>
    (parse(readFileSync(join(rulesDir, file), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
      (g) => g.rules.map((rule) => ({ file, rule })),
    ),
  );

/** Series names the catalogue declares: histograms expose `_bucket`, `_sum` and `_count`. */
const catalogue = Object.values(METRICS).flatMap((m) =>
  m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
);

/** Series Prometheus writes itself (scrapes and alert state). */
const prometheusBuiltIns = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
];

/**
 * k6's built-in metrics as its experimental-prometheus-rw output names them
 * with default settings: counters `_total`, rates `_rate`, gauges as is, and
 * trends one gauge per K6_PROMETHEUS_RW_TREND_STATS entry (default `p(99)`).
 */
const k6 = [
  ...['http_reqs', 'iterations', 'dropped_iterations', 'data_sent', 'data_received'].map(
    (n) => `k6_${n}_total`,
  ),
  ...['vus', 'vus_max'].map((n) => `k6_${n}`),
  ...['http_req_failed', 'checks'].map((n) => `k6_${n}_rate`),
  ...[
    'http_req_duration',
    'http_req_blocked',
    'http_req_connecting',
    'http_req_tls_handshaking',
    'http_req_sending',
    'http_req_waiting',
    'http_req_receiving',
    'iteration_duration',
    'group_duration',
  ].map((n) => `k6_${n}_p99`),
];

const recorded = rules.flatMap(({ rule }) => (rule.record ? [rule.record] : []));
const known = new Set([...catalogue, ...prometheusBuiltIns, ...k6, ...recorded]);

interface Use {
  where: string;
  expr: string;
  legend?: string;
}
const dashboardUses: Use[] = [
  ...panelQueries().map((q) => ({
    where: `dashboard ${q.dashboard} / ${q.panel} / ${q.refId}`,
    expr: q.expr,
  })),
  ...variableQueries().map((v) => ({
    where: `dashboard ${v.dashboard} / variable ${v.variable}`,
    expr: labelValuesSelector(v.query) ?? v.query,
  })),
  ...annotationQueries().map((a) => ({
    where: `dashboard ${a.dashboard} / annotation ${a.annotation}`,
    expr: a.expr,
  })),
];
const ruleUses: Use[] = rules.map(({ file, rule }) => ({
  where: `rules/${file} / ${rule.record ?? rule.alert}`,
  expr: rule.expr,
}));

function undeclared(uses: Use[], names: Set<string>): string[] {
  return uses.flatMap((u) => metricNames(u.expr).flatMap((n) => (names.has(n) ? [] : [`${u.where}: ${n}`])));
}

describe('metric names used by dashboards and rules', () => {
  it('finds the expressions to check', () => {
    expect(dashboardUses.length).toBeGreaterThan(50);
    expect(ruleUses.length).toBe(rules.length);
    // Each use names at least one metric: an expression the tokenizer reads as
    // empty would hide names from this check.
    expect([...dashboardUses, ...ruleUses].filter((u) => metricNames(u.expr).length === 0)).toEqual([]);
  });

  it('every name a dashboard uses is declared', () => {
    expect(undeclared(dashboardUses, known)).toEqual([]);
  });

  it('every name a rule uses is declared (k6 series are not rule inputs)', () => {
    const forRules = new Set([...catalogue, ...prometheusBuiltIns, ...recorded]);
    expect(undeclared(ruleUses, forRules)).toEqual([]);
  });

  it('every recording rule is defined once and used by a dashboard or a rule', () => {
    expect(new Set(recorded).size).toBe(recorded.length);
    const used = new Set([...dashboardUses, ...ruleUses].flatMap((u) => metricNames(u.expr)));
    const unused = recorded.filter((r) => !used.has(r));
    // RED records are a query API for people and future panels; SLO records must all be used.
    expect(unused.filter((r) => r.includes('bw_slo_'))).toEqual([]);
  });

  it('reports a name no catalogue entry declares (the check can fail)', () => {
    const uses = [{ where: 'test', expr: 'sum(rate(bw_http_server_requests_total[5m])) / bw_breaker_state' }];
    expect(undeclared(uses, known)).toEqual(['test: bw_http_server_requests_total']);
  });
});

// --- labels ------------------------------------------------------------------

/** Labels every scraped series carries: the registry's default label and the scrape's. */
const EVERY_SERIES = ['service', 'job', 'instance'];
/** Tags k6 attaches to its HTTP metrics (system tags) plus the test-wide `testid`. */
const K6_TAGS = [
  'testid',
  'name',
  'method',
  'status',
  'url',
  'scenario',
  'group',
  'check',
  'expected_response',
];

const labelsOf = new Map<string, Set<string>>();
for (const m of Object.values(METRICS)) {
  const labels = [...m.labels, ...EVERY_SERIES];
  if (m.type === 'histogram') {
    labelsOf.set(`${m.name}_bucket`, new Set([...labels, 'le']));
    labelsOf.set(`${m.name}_sum`, new Set(labels));
    labelsOf.set(`${m.name}_count`, new Set(labels));
  } else labelsOf.set(m.name, new Set(labels));
}
for (const name of prometheusBuiltIns) labelsOf.set(name, new Set(['job', 'instance']));
for (const name of k6) labelsOf.set(name, new Set([...K6_TAGS, 'job', 'instance']));
// A recorded series can carry at most the labels of the series it is computed from.
for (const { rule } of rules) {
  if (!rule.record) continue;
  const from = metricNames(rule.expr).flatMap((n) => [...(labelsOf.get(n) ?? [])]);
  labelsOf.set(rule.record, new Set(from));
}

function unknownLabels(uses: Use[]): string[] {
  return uses.flatMap((u) => {
    const available = new Set(metricNames(u.expr).flatMap((n) => [...(labelsOf.get(n) ?? [])]));
    const used = [...labelNames(u.expr), ...legendLabels(u.legend ?? '')];
    return [...new Set(used)].filter((l) => !available.has(l)).map((l) => `${u.where}: label ${l}`);
  });
}

describe('label names used by dashboards and rules', () => {
  it('every label a query filters or groups on, or a legend shows, exists on a metric it reads', () => {
    expect(unknownLabels([...dashboardUses, ...ruleUses])).toEqual([]);
  });

  it('reports a label the metrics do not carry (the check can fail)', () => {
    const uses = [
      {
        where: 'test',
        expr: 'sum by (service, upstrem) (rate(bw_upstream_tries_total{kind="retry"}[5m]))',
        legend: '{{service}} {{consumer}}',
      },
    ];
    expect(unknownLabels(uses)).toEqual(['test: label upstrem', 'test: label consumer']);
  });
});
