import { POLICY_MAPPING, parsePolicy } from '@breakwater/mesh/policy';
import { describe, expect, it } from 'vitest';
import { consecutiveErrors, renderDestinationRules, renderVirtualServices } from '../../src/policy/istio.ts';
import { loadPolicySources } from '../../src/policy/sources.ts';

const { policy, edges } = loadPolicySources();
const drs = renderDestinationRules(policy, edges);
const vss = renderVirtualServices(policy, edges);

/** Follows `DestinationRule.trafficPolicy.connectionPool.http.http2MaxRequests` (`[]` = every element). */
function reach(obj: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [obj];
  const [head, ...rest] = path as [string, ...string[]];
  const many = head.endsWith('[]');
  const key = many ? head.slice(0, -2) : head;
  const next = (obj as Record<string, unknown> | undefined)?.[key];
  if (next === undefined) return [];
  return many ? (next as unknown[]).flatMap((n) => reach(n, rest)) : reach(next, rest);
}

describe('Istio rendering follows POLICY_MAPPING (mesh/src/policy.ts)', () => {
  const rows = POLICY_MAPPING.filter((r) => r.istio !== null);

  it.each(rows.map((r) => [r.field, r.istio as string]))('%s → %s is rendered', (_field, istio) => {
    const [kind, ...path] = (istio.split(/[ :(]/)[0] as string).split('.');
    const objs = kind === 'DestinationRule' ? drs : vss;
    // breaker.enabled maps onto the presence of outlierDetection itself
    const found = objs.flatMap((o) => reach(o.spec, path as string[]));
    expect(found.length).toBeGreaterThan(0);
  });

  it('gateway -> catalog carries gateway.yaml catalog upstream numbers', () => {
    const u = edges.gateway?.catalog;
    expect(u).toBeDefined();
    if (u === undefined) return;
    const dr = drs.find((d) => d.metadata?.name === 'catalog-from-gateway');
    expect(dr?.spec?.workloadSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'gateway' } });
    expect(dr?.spec?.trafficPolicy?.connectionPool?.http?.http2MaxRequests).toBe(u.bulkhead.maxConcurrent);
    expect(dr?.spec?.trafficPolicy?.outlierDetection?.consecutive5xxErrors).toBe(consecutiveErrors(u));
    const route = vss
      .find((v) => v.metadata?.name === 'catalog')
      ?.spec?.http?.find((h) => h.name === 'gateway');
    expect(route?.timeout).toBe(`${u.timeoutMs / 1000}s`);
  });

  it("never retries in the sidecar: the callers' mesh clients retry under their budgets", () => {
    for (const vs of vss) for (const h of vs.spec?.http ?? []) expect(h.retries).toEqual({ attempts: 0 });
  });

  it('turns a breaker off by leaving outlierDetection out', () => {
    const off = parsePolicy({ breaker: { enabled: false } });
    const rendered = renderDestinationRules(policy, { orders: { catalog: off } });
    expect(rendered[0]?.spec?.trafficPolicy?.outlierDetection).toBeUndefined();
  });
});
