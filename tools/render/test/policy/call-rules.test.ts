/**
 * The rules of mesh/policy.yaml (per-edge methods and paths) against what the
 * platform really sends, judged by the server kit's own check
 * (authorizationFor, the function every service enforces):
 *
 * - every request of every pact between two services is allowed on its edge;
 * - every request of the gateway's consumers' pacts (frontend, k6), routed by
 *   gateway.yaml's own route matcher to an upstream and path, is allowed on
 *   gateway -> upstream;
 * - every method a gateway route forwards, and every breaker probe (GET), is
 *   allowed on its edge;
 * - no rule is wider than the callee's contract: each method and path of a
 *   rule meets an operation of the callee's OpenAPI document.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { interactionsOf, PACT_DIR } from '@breakwater/contracts/pact';
import { loadConfig, matchRoute, orderRoutes, upstreamPath } from '@breakwater/gateway';
import { authorizationFor, spiffeId } from '@breakwater/mesh/identity';
import { compileOperations } from '@breakwater/mesh/policy/operations';
import { describe, expect, it } from 'vitest';
import { loadPolicySources } from '../../src/policy/sources.ts';
import { REPO_ROOT } from '../../src/root.ts';

const { policy, edges } = loadPolicySources();
const gateway = loadConfig(resolve(REPO_ROOT, 'gateway/gateway.yaml')).config;
const routes = orderRoutes(gateway.routes);

interface PactRequest {
  method: string;
  path: string;
}

/** Undefined when `caller` may send it, else the server kit's refusal. */
function refusal(caller: string, callee: string, method: string, path: string): string | undefined {
  return authorizationFor(policy, callee).check(spiffeId(caller), method, path.split('?')[0] as string);
}

/** Pact files with HTTP interactions: `[consumer, provider, requests]`. */
const pacts = readdirSync(PACT_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => {
    const requests = (interactionsOf(join(PACT_DIR, f)) as { request?: PactRequest }[]).flatMap((i) =>
      i.request ? [i.request] : [],
    );
    const provider = Object.keys(policy.workloads).find((w) => f.endsWith(`-${w}.json`)) as string;
    return [f.slice(0, -`-${provider}.json`.length), provider, requests] as const;
  })
  .filter(([, , requests]) => requests.length > 0);

describe('the rules allow every call the platform makes', () => {
  it('finds the HTTP pacts (between services and in front of the gateway)', () => {
    expect(pacts.map(([c, p]) => `${c} -> ${p}`).sort()).toEqual([
      'frontend -> gateway',
      'k6-shop-client -> gateway',
      'orders -> catalog',
    ]);
  });

  it.each(
    pacts.filter(([, p]) => p !== 'gateway'),
  )('pact %s -> %s: every request allowed', (c, p, requests) => {
    for (const r of requests)
      expect(refusal(c, p, r.method, r.path), `${r.method} ${r.path}`).toBeUndefined();
  });

  it.each(
    pacts.filter(([, p]) => p === 'gateway'),
  )('pact %s -> gateway: every request, routed by gateway.yaml, allowed upstream', (_c, _p, requests) => {
    for (const r of requests) {
      const route = matchRoute(routes, r.path);
      expect(route, r.path).toBeDefined();
      if (route === undefined) continue;
      const path = upstreamPath(route, r.path);
      expect(refusal('gateway', route.upstream, r.method, path), `${r.method} ${r.path}`).toBeUndefined();
    }
  });

  it("allows every method of every gateway route on its upstream's routes, and every breaker probe", () => {
    const sample: Record<string, string> = {
      catalog: '/products/sku-0001',
      orders: '/orders',
      payments: '/payments/p-1',
      frontend: '/',
    };
    for (const r of gateway.routes)
      for (const m of r.methods) {
        const path = sample[r.upstream] as string;
        const ok = [path, `${path}/x`].some((p) => refusal('gateway', r.upstream, m, p) === undefined);
        expect(ok, `${r.name}: ${m}`).toBe(true);
      }
    for (const [caller, ups] of Object.entries(edges))
      for (const [up, u] of Object.entries(ups))
        if (u.breaker.probe)
          expect(
            refusal(caller, up, 'GET', u.breaker.probe.path),
            `${caller} -> ${up} probe`,
          ).toBeUndefined();
  });
});

describe('no rule is wider than the callee contract', () => {
  /** `[METHOD, path]` of every operation of the callee's OpenAPI document (`{id}` → `x`); none without one. */
  const contract = (service: string): [string, string][] => {
    const file = resolve(REPO_ROOT, `contracts/openapi/${service}.json`);
    if (!existsSync(file)) return [];
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => m !== 'parameters')
        .map((m): [string, string] => [m.toUpperCase(), p.replaceAll(/\{[^}]+\}/g, 'x')]),
    );
  };

  it('each method and path of a rule meets an operation of the OpenAPI document (HEAD as GET)', () => {
    let checked = 0;
    for (const [caller, rules] of Object.entries(policy.callRules))
      for (const [callee, ops] of Object.entries(rules)) {
        const operations = contract(callee);
        if (operations.length === 0) continue; // no OpenAPI document (the frontend's static files)
        for (const o of ops)
          for (const m of o.methods ?? [])
            for (const p of o.paths ?? []) {
              const allows = compileOperations([{ methods: [m === 'HEAD' ? 'GET' : m], paths: [p] }]);
              expect(
                operations.some(([om, op]) => allows(om, op)),
                `${caller} -> ${callee}: ${m} ${p}`,
              ).toBe(true);
              checked++;
            }
      }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
