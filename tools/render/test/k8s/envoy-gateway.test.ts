import { resolve } from 'node:path';
import { loadConfig } from '@breakwater/gateway/config';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import {
  CONSUMER_HEADER,
  duration,
  prefixRewriteProblems,
  renderEnvoyGateway,
} from '../../src/k8s/envoy-gateway.ts';
import { type Manifest, ROOT } from './manifests.ts';

const policy = loadPolicy();
const gw = loadConfig(resolve(ROOT, 'gateway/gateway.yaml')).config;
const { objects, approximations } = renderEnvoyGateway(policy, gw);
const byKind = (kind: string) => (objects as Manifest[]).filter((o) => o.kind === kind);
const named = (kind: string, name: string) => byKind(kind).find((o) => o.metadata.name === name);

describe('Envoy Gateway rendering of gateway.yaml', () => {
  it('routes every gateway.yaml route, reads and writes apart', () => {
    const routes = byKind('HTTPRoute').map((r) => r.metadata.name);
    for (const r of gw.routes) {
      const reads = r.methods.some((m) => m === 'GET' || m === 'HEAD');
      const writes = r.methods.some((m) => m !== 'GET' && m !== 'HEAD');
      expect(routes.includes(r.name), r.name).toBe(reads);
      expect(routes.includes(`${r.name}-writes`), r.name).toBe(writes);
    }
  });

  it('retries reads only, with the upstream policy', () => {
    for (const r of gw.routes) {
      const u = gw.upstreams[r.upstream];
      const reads = named('BackendTrafficPolicy', r.name);
      if (reads && u && u.retry.maxRetries > 0) {
        expect(reads.spec.retry.numRetries).toBe(u.retry.maxRetries);
        expect(reads.spec.retry.perRetry.timeout).toBe(duration(r.timeoutMs ?? u.timeoutMs));
      }
      const writes = named('BackendTrafficPolicy', `${r.name}-writes`);
      if (writes) expect(writes.spec.retry).toBeUndefined();
    }
  });

  it('renders each rate-limit window as one global rule, consumer-wide ones shared across routes', () => {
    const catalog = named('BackendTrafficPolicy', 'catalog')?.spec.rateLimit.global.rules as Manifest[];
    const own = gw.rateLimits.filter((p) => p.route === 'catalog');
    const consumerWide = gw.rateLimits.filter((p) => p.route === undefined);
    const windows = (ps: typeof own) =>
      ps.flatMap((p) => Object.keys(p.limits).filter((k) => k !== undefined));
    expect(catalog.filter((r) => !r.shared)).toHaveLength(windows(own).length);
    expect(catalog.filter((r) => r.shared)).toHaveLength(windows(consumerWide).length);
    expect(JSON.stringify(catalog)).toContain(CONSUMER_HEADER);
  });

  it('authenticates API-key consumers on routes that require auth, and says what it cannot render', () => {
    const secured = byKind('SecurityPolicy').map((s) => s.metadata.name);
    for (const r of gw.routes)
      expect(secured.includes(r.name) || secured.includes(`${r.name}-writes`)).toBe(r.auth === 'required');
    expect(named('Secret', 'gateway-api-keys')?.stringData).toEqual(
      Object.fromEntries(gw.consumers.filter((c) => c.apiKeys.length > 0).map((c) => [c.name, c.apiKeys[0]])),
    );
    if (gw.consumers.some((c) => c.jwt.length > 0)) expect(approximations.join('\n')).toMatch(/JWT/);
  });

  it("balances and ejects per host with the upstream's loadBalancer and outlierDetection, not its breaker", () => {
    const u = gw.upstreams.catalog;
    const spec = named('BackendTrafficPolicy', 'catalog')?.spec;
    expect(spec.loadBalancer).toEqual({ type: 'LeastRequest' });
    expect(spec.healthCheck).toEqual({
      panicThreshold: u?.loadBalancer.healthyPanicThreshold,
      passive: {
        consecutive5XxErrors: u?.outlierDetection.consecutive5xx,
        interval: duration(u?.outlierDetection.intervalMs ?? 0),
        baseEjectionTime: duration(u?.outlierDetection.baseEjectionTimeMs ?? 0),
        maxEjectionPercent: u?.outlierDetection.maxEjectionPercent,
        // enforced in gateway.yaml's catalog policy (the bad-replica drill)
        ...(u?.outlierDetection.enforcingFailurePercentage
          ? { failurePercentageThreshold: u.outlierDetection.failurePercentageThreshold }
          : {}),
      },
    });
    // the defaults are expressible: only what gateway.yaml's catalog policy sets beyond them is approximated
    expect(approximations.filter((l) => /loadBalancer|outlierDetection/.test(l))).toEqual([
      "upstream catalog: outlierDetection.failurePercentageRequestVolume and failurePercentageMinimumHosts are not expressible; Envoy's 50 and 5 apply",
      "upstream catalog: outlierDetection.maxEjectionTimeMs 15000; Envoy Gateway keeps Envoy's 300 s",
    ]);
  });

  it('writes Gateway API durations (no fractions)', () => {
    expect(duration(800)).toBe('800ms');
    expect(duration(2000)).toBe('2s');
    expect(duration(2500)).toBe('2500ms');
  });

  // Gateway API's CEL rule, which a real API server enforces and the OpenAPI
  // schemas cannot: the three rewritten routes once had GET and HEAD in one rule.
  it('gives a prefix-rewriting HTTPRoute rule exactly one PathPrefix match (one rule per method)', () => {
    const routes = byKind('HTTPRoute') as IHTTPRoute[];
    expect(routes.flatMap(prefixRewriteProblems)).toEqual([]);
    const catalog = routes.find((r) => r.metadata?.name === 'catalog');
    const rules = catalog?.spec?.rules ?? [];
    expect(rules.map((r) => r.matches?.map((m) => [m.path?.type, m.method]))).toEqual([
      [['PathPrefix', 'GET']],
      [['PathPrefix', 'HEAD']],
    ]);
    expect(rules.every((r) => r.filters?.[0]?.urlRewrite?.path?.type === 'ReplacePrefixMatch')).toBe(true);
  });

  it('names a rule that rewrites a prefix with more than one match', () => {
    const twoMatches: IHTTPRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'catalog' },
      spec: {
        rules: [
          {
            matches: [
              { path: { type: 'PathPrefix', value: '/api/catalog' }, method: 'GET' },
              { path: { type: 'PathPrefix', value: '/api/catalog' }, method: 'HEAD' },
            ],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
              },
            ],
          },
        ],
      },
    };
    expect(prefixRewriteProblems(twoMatches)).toEqual([
      'catalog rules[0]: a ReplacePrefixMatch rewrite needs exactly one PathPrefix match, has 2',
    ]);
  });
});
