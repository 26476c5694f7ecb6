import { edge, externalName, policyEdges, policyOperations, WORLD } from '@breakwater/mesh/policy/edges';
import { loadPolicy, principal } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import {
  renderAuthorizationPolicies,
  renderPeerAuthentications,
  resolveEdgePolicies,
} from '../../src/policy/istio.ts';
import { renderComponentNetworkPolicies, renderNetworkPolicies } from '../../src/policy/network-policies.ts';
import {
  authorizationPolicyEdges,
  authorizationPolicyOperations,
  networkPolicyEdges,
  parsePrincipal,
} from '../../src/policy/views.ts';

const policy = loadPolicy();
const internal = (edges: string[]) => edges.filter((e) => !e.startsWith('ext:'));
const external = (edges: string[]) => edges.filter((e) => e.startsWith('ext:'));

describe('principals', () => {
  it('are trust-domain/ns/<ns>/sa/<sa> without spiffe://', () => {
    expect(principal('cluster.local', 'breakwater', 'orders')).toBe('cluster.local/ns/breakwater/sa/orders');
    for (const ap of renderAuthorizationPolicies(policy))
      for (const r of ap.spec?.rules ?? [])
        for (const f of r.from ?? [])
          for (const p of f.source?.principals ?? []) expect(p).not.toMatch(/^spiffe:/);
  });

  it('a principal with spiffe:// is rejected (it would never match in Istio)', () => {
    expect(() => parsePrincipal('spiffe://cluster.local/ns/breakwater/sa/orders')).toThrow(/spiffe/);
    const aps = renderAuthorizationPolicies(policy).map((ap) => structuredClone(ap));
    const catalog = aps.find((ap) => ap.metadata?.name === 'catalog');
    const rule = catalog?.spec?.rules?.find((r) => r.from?.[0]?.source?.principals);
    rule?.from?.[0]?.source?.principals?.push('spiffe://cluster.local/ns/breakwater/sa/payments');
    expect(() => authorizationPolicyEdges(policy, aps)).toThrow(/spiffe/);
  });
});

describe('the three views agree', () => {
  const nps = renderNetworkPolicies(policy);
  const aps = renderAuthorizationPolicies(policy);
  const fromPolicy = policyEdges(policy, { external: true });

  it('NetworkPolicy ingress, NetworkPolicy egress and policy.yaml name the same in-namespace edges', () => {
    const { ingress, egress } = networkPolicyEdges(policy, nps);
    expect(internal(ingress)).toEqual(internal(fromPolicy));
    expect(egress).toEqual(internal(fromPolicy));
  });

  it('AuthorizationPolicies allow exactly the edges of policy.yaml, by principal', () => {
    expect(authorizationPolicyEdges(policy, aps)).toEqual(fromPolicy);
  });

  it("AuthorizationPolicies carry each edge's rules as its operations (methods, paths) and nothing wider", () => {
    const ops = authorizationPolicyOperations(policy, aps);
    expect(ops).toEqual(policyOperations(policy, { external: true }));
    expect(ops).toContain('gateway -> catalog: GET|HEAD /products, /products/*');
    expect(ops).toContain('orders -> catalog: POST /reservations');
    expect(ops).toContain('ext:prometheus -> catalog: GET /metrics');
    expect(ops).toContain('catalog -> redis: * *');
    expect(ops.filter((l) => l.startsWith('orders -> catalog'))).toHaveLength(3);
  });

  it('detects a rendered rule that lost its paths (it would allow the caller everything)', () => {
    const broken = aps.map((ap) => structuredClone(ap));
    const op = broken
      .find((ap) => ap.metadata?.name === 'payments')
      ?.spec?.rules?.flatMap((r) => r.to ?? [])
      .find((t) => t.operation?.paths);
    if (op?.operation) delete op.operation.paths;
    const ops = authorizationPolicyOperations(policy, broken);
    expect(ops).toContain('gateway -> payments: GET|HEAD *');
    expect(ops).not.toEqual(policyOperations(policy, { external: true }));
  });

  it('NetworkPolicies admit exactly the external callers of policy.yaml (public entry, scrapers)', () => {
    expect(external(networkPolicyEdges(policy, nps).ingress)).toEqual(external(fromPolicy));
    expect(fromPolicy).toContain(edge(WORLD, 'gateway'));
    expect(fromPolicy).toContain(edge(externalName('prometheus'), 'notifications'));
    expect(fromPolicy).not.toContain(edge(externalName('prometheus'), 'redis'));
  });

  it('a component adds only its own callers (Envoy Gateway stands in for the gateway)', () => {
    const comp = renderComponentNetworkPolicies(policy, 'envoy-gateway');
    expect(networkPolicyEdges(policy, comp).ingress).toEqual(
      policyEdges(policy, { component: 'envoy-gateway' }),
    );
    expect(policyEdges(policy, { component: 'envoy-gateway' })).toEqual([
      'ext:envoy-gateway -> catalog',
      'ext:envoy-gateway -> frontend',
      'ext:envoy-gateway -> orders',
      'ext:envoy-gateway -> payments',
      'ext:envoy-ratelimit -> redis',
    ]);
  });

  it('detects a NetworkPolicy allowing an edge that policy.yaml does not have', () => {
    const broken = structuredClone(nps);
    const catalog = broken.find((np) => np.metadata?.name === 'catalog');
    catalog?.spec?.ingress?.push({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'payments' } } }],
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
    expect(internal(networkPolicyEdges(policy, broken).ingress)).not.toEqual(internal(fromPolicy));
    expect(networkPolicyEdges(policy, broken).ingress).toContain(edge('payments', 'catalog'));
  });

  it('refuses a NetworkPolicy that opens a pod to every pod of the namespace', () => {
    const broken = structuredClone(nps);
    broken
      .find((np) => np.metadata?.name === 'pg-orders')
      ?.spec?.ingress?.push({ from: [{ podSelector: {} }] });
    expect(() => networkPolicyEdges(policy, broken)).toThrow(
      /NetworkPolicy pg-orders: ingress from every pod/,
    );
  });
});

describe('mTLS', () => {
  it('is STRICT namespace-wide and PERMISSIVE only on the public port of public workloads', () => {
    const pas = renderPeerAuthentications(policy);
    expect(pas[0]?.spec).toEqual({ mtls: { mode: 'STRICT' } });
    const relaxed = pas.flatMap((pa) =>
      Object.entries(pa.spec?.portLevelMtls ?? {})
        .filter(([, m]) => m.mode !== 'STRICT')
        .map(([port]) => `${pa.spec?.selector?.matchLabels?.['app.kubernetes.io/name']}:${port}`),
    );
    expect(relaxed).toEqual(['gateway:8080']);
  });
});

describe('edge policies', () => {
  it('require a call policy for every HTTP edge and none for an edge not called', () => {
    expect(() => resolveEdgePolicies(policy, () => ({}))).toThrow(/gateway -> catalog: no call policy/);
  });
});
