import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardPanel } from '../dashboard-queries.ts';
import { DRILLS } from './drills.ts';
import { DEFAULT_PANELS, legendOf, panelsFor } from './panels.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

describe('the panels of a drill report', () => {
  it('every drill gets the default panels first, then its own, each once', () => {
    const latency = DRILLS.find((d) => d.name === 'catalog-latency');
    const refs = panelsFor([
      ...(latency?.panels ?? []),
      DEFAULT_PANELS[0] as (typeof DEFAULT_PANELS)[number],
    ]);
    expect(refs.slice(0, DEFAULT_PANELS.length)).toEqual(DEFAULT_PANELS);
    expect(refs.map((r) => r.title)).toContain('Call outcomes');
    expect(new Set(refs.map((r) => r.title)).size).toBe(refs.length);
  });

  it('names only panels the rendered dashboards have, each with a query', () => {
    for (const drill of DRILLS)
      for (const ref of panelsFor(drill.panels)) {
        const panel = dashboardPanel(ROOT, ref);
        expect(panel.queries.length, `${drill.name}: ${ref.title}`).toBeGreaterThan(0);
      }
    expect(dashboardPanel(ROOT, { dashboard: 'resilience', title: 'Breaker state' }).valueText).toEqual({
      0: 'closed',
      1: 'half-open',
      2: 'open',
    });
    expect(() => dashboardPanel(ROOT, { dashboard: 'resilience', title: 'No such panel' })).toThrow(
      'no panel "No such panel" in observability/grafana/dashboards/resilience.json',
    );
  });

  it('fills Grafana legend formats from a series labels', () => {
    expect(legendOf('{{service}} → {{upstream}}', { service: 'gateway', upstream: 'catalog' })).toBe(
      'gateway → catalog',
    );
    expect(legendOf(undefined, { __name__: 'x', service: 'orders' })).toBe('{service="orders"}');
  });
});
