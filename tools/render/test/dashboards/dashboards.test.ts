import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { staleFiles } from '../../src/dashboards/files.ts';
import {
  buildDashboards,
  DASHBOARDS_DIR,
  dashboardFiles,
  panelQueries,
  renderedFiles,
  toPromQL,
  variableQueries,
} from '../../src/dashboards/index.ts';
import { REPO_ROOT } from '../../src/root.ts';

/** `$` `{NAME}`: a variable Grafana (or a dashboard) expands, written without a template literal. */
const ref = (name: string): string => `$${'{'}${name}}`;

const repoRoot = REPO_ROOT;
const grafanaDir = join(repoRoot, 'observability', 'grafana');

describe('generated Grafana files', () => {
  it('are up to date with the dashboard code (run npm run render)', () => {
    expect(staleFiles()).toEqual([]);
  });

  it('render deterministically', () => {
    expect([...renderedFiles()]).toEqual([...renderedFiles()]);
  });

  it('staleness check notices a changed dashboard', () => {
    const files = renderedFiles();
    const [first] = files.keys();
    files.set(first as string, `${files.get(first as string)} `);
    expect(staleFiles(files)).toEqual([first]);
  });
});

describe('dashboards', () => {
  const dashboards = buildDashboards();

  it('are the five Breakwater dashboards, each with a unique uid', () => {
    expect(dashboards.map((d) => d.model.title)).toEqual([
      'Breakwater / Overview',
      'Breakwater / Resilience',
      'Breakwater / Gateway',
      'Breakwater / Events',
      'Breakwater / Load test',
    ]);
    const uids = dashboards.map((d) => d.model.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('have unique panel ids and titles, and every non-row panel queries the provisioned datasource', () => {
    for (const { model } of dashboards) {
      const panels = model.panels ?? [];
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, model.uid).toBe(ids.length);
      const titles = panels.map((p) => p.title);
      expect(new Set(titles).size, model.uid).toBe(titles.length);
      for (const p of panels.filter((x) => x.type !== 'row')) {
        const targets = (p as { targets?: { datasource?: { uid?: string }; expr?: string }[] }).targets ?? [];
        expect(targets.length, `${model.uid} / ${p.title}`).toBeGreaterThan(0);
        for (const t of targets) {
          expect(t.datasource?.uid).toBe('bw-prometheus');
          expect(t.expr?.trim()).not.toBe('');
        }
      }
    }
  });

  it('enumerate every panel query as {dashboard, panel, refId, expr}', () => {
    const queries = panelQueries(dashboards);
    expect(queries.length).toBeGreaterThan(50);
    expect(queries).toContainEqual({
      dashboard: 'bw-resilience',
      panel: 'Breaker state',
      refId: 'A',
      expr: 'max by (service, upstream) (bw_breaker_state{service=~"$service", upstream=~"$upstream"})',
      legend: '{{service}} → {{upstream}}',
    });
  });

  it('shade drill fault windows from bw_drill_fault_active on every dashboard', () => {
    for (const { model } of dashboards) {
      const exprs = (model.annotations?.list ?? []).map((a) => (a as { expr?: string }).expr);
      expect(exprs, model.uid).toContain('max by (drill, fault, target) (bw_drill_fault_active) > 0');
    }
  });

  it('select the load test run with a testid variable', () => {
    const vars = variableQueries(dashboards).filter((v) => v.dashboard === 'bw-load-test');
    expect(vars).toEqual([
      { dashboard: 'bw-load-test', variable: 'testid', query: 'label_values(k6_http_reqs_total, testid)' },
    ]);
    const k6Queries = panelQueries(dashboards).filter(
      (q) => q.dashboard === 'bw-load-test' && /k6_/.test(q.expr),
    );
    expect(k6Queries.length).toBeGreaterThan(5);
    for (const q of k6Queries) expect(q.expr, q.panel).toContain('testid=~"$testid"');
  });

  it('toPromQL turns every panel query into plain PromQL', () => {
    for (const q of panelQueries(dashboards)) {
      const promql = toPromQL(q.expr, { rateInterval: '30s', vars: { service: 'catalog' } });
      expect(promql, `${q.dashboard} / ${q.panel}`).not.toMatch(/\$/);
    }
    expect(
      toPromQL(`rate(x{service=~"$service", r=~"${ref('route')}"}[$__rate_interval])`, {
        vars: { service: 'a' },
      }),
    ).toBe('rate(x{service=~"a", r=~".*"}[1m])');
  });
});

describe('provisioning files', () => {
  const read = (path: string) => parse(readFileSync(join(grafanaDir, 'provisioning', path), 'utf8'));

  it('define the Prometheus datasource with the uid the dashboards use, from PROMETHEUS_URL', () => {
    const doc = read('datasources/breakwater.yaml') as {
      apiVersion: number;
      datasources: { uid: string; type: string; url: string; isDefault: boolean }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources).toHaveLength(1);
    expect(doc.datasources[0]).toMatchObject({
      uid: 'bw-prometheus',
      type: 'prometheus',
      url: ref('PROMETHEUS_URL'),
      isDefault: true,
    });
  });

  it('define the Zipkin datasource from ZIPKIN_URL, and link exemplars to it by trace_id', () => {
    const doc = read('datasources/zipkin.yaml') as {
      datasources: { uid: string; type: string; url: string }[];
    };
    expect(doc.datasources).toEqual([
      expect.objectContaining({ uid: 'bw-zipkin', type: 'zipkin', url: ref('ZIPKIN_URL') }),
    ]);
    const prometheus = read('datasources/breakwater.yaml') as {
      datasources: { jsonData: { exemplarTraceIdDestinations: unknown } }[];
    };
    expect(prometheus.datasources[0]?.jsonData.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: 'bw-zipkin' },
    ]);
  });

  it('point the dashboard provider at the real dashboards folder', () => {
    const doc = read('dashboards/breakwater.yaml') as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.providers).toHaveLength(1);
    const provider = doc.providers[0];
    expect(provider?.type).toBe('file');
    // Grafana expands ${BW_ROOT}; with BW_ROOT set to the checkout the path
    // is the folder render writes, holding every generated dashboard.
    const path = provider?.options.path.replace(ref('BW_ROOT'), repoRoot) ?? '';
    expect(path).toBe(join(repoRoot, DASHBOARDS_DIR));
    expect(existsSync(path) && statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(path).sort()).toEqual([...dashboardFiles].sort());
    for (const f of dashboardFiles) {
      const model = JSON.parse(readFileSync(join(path, f), 'utf8')) as { uid?: string; panels?: unknown[] };
      expect(model.uid, f).toMatch(/^bw-/);
      expect(model.panels?.length, f).toBeGreaterThan(0);
    }
  });
});
