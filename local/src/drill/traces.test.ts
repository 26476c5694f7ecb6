import { describe, expect, it } from 'vitest';
import type { TracedRequest } from './timeline.ts';
import { pickRequests, waterfallOf, type ZipkinSpan } from './traces.ts';

const span = (
  id: string,
  parentId: string | undefined,
  service: string,
  start: number,
  duration: number,
  tags: Record<string, string> = {},
): ZipkinSpan => ({
  traceId: 't1',
  id,
  ...(parentId ? { parentId } : {}),
  name: `${service} op`,
  timestamp: 1_000_000 + start * 1000,
  duration: duration * 1000,
  localEndpoint: { serviceName: service },
  tags,
});

describe('waterfallOf', () => {
  it('marks the deepest failed span: the breaker that answered in 0.2 ms', () => {
    const w = waterfallOf([
      span('a', 'k6parent', 'gateway', 0, 2),
      span('b', 'a', 'gateway', 0.1, 0.2, {
        'error.type': 'MESH_ERR_BREAKER_OPEN',
        'otel.status_code': 'ERROR',
      }),
    ]);
    expect(w.spans.map((s) => [s.id, s.depth])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    expect(w.mark).toEqual({ spanId: 'b', text: 'gateway gateway op: MESH_ERR_BREAKER_OPEN after 0.2 ms' });
  });

  it('without an error marks the span with the most time of its own', () => {
    const w = waterfallOf([
      span('a', undefined, 'gateway', 0, 900),
      span('b', 'a', 'orders', 10, 880),
      span('c', 'b', 'catalog', 20, 800),
      span('d', 'b', 'orders', 830, 20),
    ]);
    expect(w.spans.find((s) => s.id === 'b')?.selfMs).toBe(60);
    expect(w.mark?.spanId).toBe('c');
    expect(w.mark?.text).toBe('catalog catalog op: 800 ms of its own time (span 800 ms)');
  });
});

describe('pickRequests', () => {
  const req = (
    i: number,
    phase: string,
    ms: number,
    outcome: TracedRequest['outcome'],
    route = 'catalog_list',
    reason?: string,
  ): TracedRequest => ({
    traceId: `t${i}`,
    t: i,
    phase,
    route,
    status: outcome === 'failure' ? 500 : 200,
    ms,
    outcome,
    ...(reason ? { reason } : {}),
  });

  it('takes per phase the failed, the typical degraded answer of each route and reason, and the slowest, each once', () => {
    const picks = pickRequests(
      [
        req(1, 'steady', 10, 'ok'),
        req(2, 'steady', 30, 'ok'),
        req(3, 'fault', 5, 'degraded', 'catalog_product', 'stale'),
        req(4, 'fault', 6, 'degraded', 'catalog_product', 'stale'),
        req(8, 'fault', 1900, 'degraded', 'catalog_product', 'stale'),
        req(5, 'fault', 4, 'degraded', 'catalog_list', 'retry_after'),
        req(6, 'fault', 2100, 'failure'),
        req(7, 'fault', 300, 'ok'),
      ],
      { perKind: 2 },
    );
    expect(picks.map((p) => `${p.request.traceId}:${p.why}`)).toEqual([
      't2:slowest',
      't1:slowest',
      't6:failed',
      't4:degraded', // the median of 1900, 6 and 5 ms: the fast fallback, not the odd slow one
      't5:degraded',
      't8:slowest',
      't7:slowest',
    ]);
  });
});
