import { resolve } from 'node:path';
import { loadConfig } from '@breakwater/gateway/config';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import { CONSUMER_HEADER, duration, renderEnvoyGateway } from '../../src/k8s/envoy-gateway.ts';
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

  it('writes Gateway API durations (no fractions)', () => {
    expect(duration(800)).toBe('800ms');
    expect(duration(2000)).toBe('2s');
    expect(duration(2500)).toBe('2500ms');
  });
});
