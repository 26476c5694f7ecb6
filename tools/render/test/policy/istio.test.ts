import { POLICY_MAPPING, parsePolicy } from '@breakwater/mesh/policy';
import { describe, expect, it } from 'vitest';
import {
  destinationRuleApproximations,
  renderDestinationRules,
  renderVirtualServices,
} from '../../src/policy/istio.ts';
import { loadPolicySources } from '../../src/policy/sources.ts';

const { policy, edges } = loadPolicySources();
const drs = renderDestinationRules(policy, edges);
// Fields Istio writes only when a detection is enforced (off by default, as in Envoy).
const enforcing = parsePolicy({ outlierDetection: { enforcingConsecutiveGatewayFailure: 100 } });
const enforcingDrs = renderDestinationRules(policy, { orders: { catalog: enforcing } });
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
    const objs = kind === 'DestinationRule' ? [...drs, ...enforcingDrs] : vss;
    // outlierDetection.enabled maps onto the presence of outlierDetection itself
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
    // the same numbers the gateway's mesh client balances and ejects with
    expect(dr?.spec?.trafficPolicy?.loadBalancer).toEqual({ simple: 'LEAST_REQUEST' });
    expect(dr?.spec?.trafficPolicy?.outlierDetection).toEqual({
      consecutive5xxErrors: u.outlierDetection.consecutive5xx,
      interval: `${u.outlierDetection.intervalMs / 1000}s`,
      baseEjectionTime: `${u.outlierDetection.baseEjectionTimeMs / 1000}s`,
      maxEjectionPercent: u.outlierDetection.maxEjectionPercent,
      minHealthPercent: u.loadBalancer.healthyPanicThreshold,
    });
    const route = vss
      .find((v) => v.metadata?.name === 'catalog')
      ?.spec?.http?.find((h) => h.name === 'gateway');
    expect(route?.timeout).toBe(`${u.timeoutMs / 1000}s`);
  });

  it("never retries in the sidecar: the callers' mesh clients retry under their budgets", () => {
    for (const vs of vss) for (const h of vs.spec?.http ?? []) expect(h.retries).toEqual({ attempts: 0 });
  });

  it('renders outlierDetection from the outlierDetection fields, not from the breaker', () => {
    const off = parsePolicy({ outlierDetection: { enabled: false }, loadBalancer: { policy: 'random' } });
    const [offDr] = renderDestinationRules(policy, { orders: { catalog: off } });
    expect(offDr?.spec?.trafficPolicy?.outlierDetection).toBeUndefined();
    expect(offDr?.spec?.trafficPolicy?.loadBalancer).toEqual({ simple: 'RANDOM' });
    const noBreaker = parsePolicy({
      breaker: { enabled: false },
      outlierDetection: { consecutive5xx: 3, intervalMs: 1_000, baseEjectionTimeMs: 500 },
    });
    const [dr] = renderDestinationRules(policy, { orders: { catalog: noBreaker } });
    expect(dr?.spec?.trafficPolicy?.outlierDetection).toMatchObject({
      consecutive5xxErrors: 3,
      interval: '1s',
      baseEjectionTime: '0.5s',
    });
    // an unenforced consecutive-5xx detection is Istio's 0 (off); a gateway-failure one appears when enforced
    const gw = parsePolicy({
      outlierDetection: { enforcingConsecutive5xx: 0, enforcingConsecutiveGatewayFailure: 100 },
    });
    expect(
      renderDestinationRules(policy, { orders: { catalog: gw } })[0]?.spec?.trafficPolicy?.outlierDetection,
    ).toMatchObject({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 5 });
  });

  it('lists what Istio cannot express, and nothing for the defaults', () => {
    // Only gateway.yaml's catalog policy leaves the defaults (failure percentage and a 15 s
    // ejection cap, for one bad instance among three: the bad-replica drill).
    expect(destinationRuleApproximations(edges)).toEqual([
      'gateway -> catalog: outlierDetection failure percentage (30 %) is not rendered; Istio has no failure-percentage detection',
      "gateway -> catalog: outlierDetection.maxEjectionTimeMs 15000; Istio keeps Envoy's 300 s",
    ]);
    const odd = parsePolicy({
      loadBalancer: { choiceCount: 3 },
      outlierDetection: {
        enforcingConsecutive5xx: 50,
        enforcingFailurePercentage: 100,
        maxEjectionTimeMs: 60_000,
      },
    });
    const lines = destinationRuleApproximations({ orders: { catalog: odd } });
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/^orders -> catalog: /);
    expect(lines.join('\n')).toMatch(
      /choiceCount 3.*enforcingConsecutive5xx 50.*failure percentage.*maxEjectionTimeMs 60000/s,
    );
  });
});
