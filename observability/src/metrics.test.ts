import { describe, expect, it } from 'vitest';
import { METRICS } from './metric-names.ts';
import {
  boundObserver,
  counter,
  gauge,
  histogram,
  onCollect,
  registry,
  renderMetrics,
  setServiceLabel,
  statusClass,
} from './metrics.ts';

describe('metrics', () => {
  it('creates each catalogue metric once and refuses the wrong kind', () => {
    expect(counter('upstreamTries')).toBe(counter('upstreamTries'));
    expect(() => gauge('upstreamTries')).toThrow(/is a counter, not a gauge/);
    expect(() => counter('nope' as never)).toThrow(/unknown metric key/);
    expect(registry.getSingleMetric(METRICS.upstreamTries.name)).toBeDefined();
  });

  it('renders Prometheus text by default and OpenMetrics on request, keeping counter names', async () => {
    setServiceLabel('obs-test');
    counter('upstreamTries').labels('u1', 'first').inc(2);
    histogram('httpServerDuration', { exemplars: true }).observe({
      labels: { method: 'GET', route: '/x', status_class: '2xx' },
      value: 0.02,
      exemplarLabels: { trace_id: 'abc' } as never,
    });
    const om = await renderMetrics('application/openmetrics-text; version=1.0.0');
    expect(om.contentType).toContain('application/openmetrics-text');
    expect(om.body).toContain('# TYPE bw_upstream_tries counter');
    expect(om.body).toMatch(/# \{trace_id="abc"\} 0\.02/);
    expect(om.body.trimEnd().endsWith('# EOF')).toBe(true);
    const text = await renderMetrics('text/plain');
    expect(text.contentType).toContain('text/plain');
    expect(text.body).toContain('# TYPE bw_upstream_tries_total counter');
    expect(text.body).toMatch(/bw_upstream_tries_total\{upstream="u1",kind="first",service="obs-test"\} 2/);
    expect(text.body).not.toContain('# EOF');
  });

  it('runs collect hooks at scrape time, and stops when removed', async () => {
    let n = 0;
    const g = gauge('outboxBacklog');
    const off = onCollect('outboxBacklog', () => g.set(++n));
    expect((await renderMetrics()).body).toMatch(/bw_outbox_backlog\{[^}]*\} 1/);
    expect((await renderMetrics()).body).toMatch(/bw_outbox_backlog\{[^}]*\} 2/);
    off();
    expect((await renderMetrics()).body).toMatch(/bw_outbox_backlog\{[^}]*\} 2/);
  });

  it('labels status classes', () => {
    expect([101, 204, 302, 404, 503].map(statusClass)).toEqual(['1xx', '2xx', '3xx', '4xx', '5xx']);
  });
});

describe('boundObserver', () => {
  it('gives the same buckets, sum and count as prom-client, and survives a reset', async () => {
    const h = histogram('gatewayUpstreamDuration');
    const fast = boundObserver(h, { route: 'r1', upstream: 'u', status_class: '2xx' });
    const slow = h.labels({ route: 'r2', upstream: 'u', status_class: '2xx' });
    for (const v of [0.0005, 0.003, 0.003, 0.2, 7, 42]) {
      fast(v);
      slow.observe(v);
    }
    const series = async (route: string) =>
      (await h.get()).values
        .filter((v) => v.labels.route === route)
        .map((v) => `${v.metricName}{le=${(v.labels as Record<string, unknown>).le ?? ''}} ${v.value}`);
    expect(await series('r1')).toEqual(await series('r2'));
    expect((await series('r1')).length).toBeGreaterThan(10);
    h.reset();
    fast(0.01);
    fast(0.01);
    const after = (await h.get()).values.filter(
      (v) => v.labels.route === 'r1' && v.metricName?.endsWith('_count'),
    );
    expect(after[0]?.value).toBe(2);
  });
});
