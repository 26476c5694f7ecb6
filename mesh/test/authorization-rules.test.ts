/**
 * Per-edge rules of mesh/policy.yaml (methods and paths, Istio's matching)
 * as the server kit enforces them: the compiled matcher, the schema's checks,
 * and authorizationFor's verdicts and messages. The same rules over real
 * mTLS sockets: mtls.test.ts; on the live platform: local/test/mtls-matrix.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { authorizationFor } from '../src/identity/authorization.ts';
import { spiffeId } from '../src/identity/spiffe.ts';
import { edgeOperations, policyOperations } from '../src/policy/edges.ts';
import { compileOperations, describeOperations } from '../src/policy/operations.ts';
import { loadPolicy, PolicyError, parsePolicy } from '../src/policy/schema.ts';

const POLICY = `version: 1
namespace: breakwater
workloads:
  gateway: { kind: service, port: 8080, public: true }
  catalog: { kind: service, port: 8080 }
  orders: { kind: service, port: 8080 }
  frontend: { kind: service, port: 8080 }
  redis: { kind: datastore, port: 6379 }
calls:
  gateway:
    - catalog:
        - { methods: [GET, HEAD], paths: [/products, /products/*] }
    - frontend:
        - { paths: ['*.js', /index.html] }
    - orders
    - redis
  orders:
    - catalog:
        - { methods: [POST], paths: [/reservations] }
        - { methods: [DELETE], paths: [/reservations/*] }
external:
  edge-proxy:
    namespace: edge
    serviceAccount: edge-proxy
    podLabels: { app: edge-proxy }
    standsInFor: gateway
  prometheus:
    namespace: monitoring
    serviceAccount: prometheus
    podLabels: { app: prometheus }
    scrape: { path: /metrics }
`;

const policy = parsePolicy(POLICY);
const catalog = authorizationFor(policy, 'catalog');
const gateway = spiffeId('gateway');
const orders = spiffeId('orders');

function issues(doc: string): readonly string[] {
  try {
    parsePolicy(doc);
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  return [];
}

describe('operation matching (Istio semantics)', () => {
  const allows = compileOperations([
    { methods: ['GET'], paths: ['/a', '/b/*', '*.json'] },
    { methods: ['DELETE'] },
    { paths: ['/open'] },
  ]);

  it('matches an exact path only exactly', () => {
    expect(allows('GET', '/a')).toBe(true);
    expect(allows('GET', '/a/')).toBe(false);
    expect(allows('GET', '/ab')).toBe(false);
  });

  it('matches a prefix /x/* below /x/ but not /x itself', () => {
    expect(allows('GET', '/b/1')).toBe(true);
    expect(allows('GET', '/b/1/2')).toBe(true);
    expect(allows('GET', '/b/')).toBe(true);
    expect(allows('GET', '/b')).toBe(false);
    expect(allows('GET', '/bb/1')).toBe(false);
  });

  it('matches a suffix *x at the end of any path', () => {
    expect(allows('GET', '/deep/down/openapi.json')).toBe(true);
    expect(allows('GET', '/openapi.json.bak')).toBe(false);
  });

  it('needs method and path of one operation; a field left out matches all', () => {
    expect(allows('POST', '/a')).toBe(false); // path of the first, method of none
    expect(allows('HEAD', '/a')).toBe(false); // HEAD is its own method, as in Istio
    expect(allows('DELETE', '/anything')).toBe(true);
    expect(allows('PUT', '/open')).toBe(true);
  });

  it('describes operations for messages', () => {
    expect(describeOperations([{ methods: ['GET', 'HEAD'], paths: ['/p', '/p/*'] }, { paths: ['*'] }])).toBe(
      'GET|HEAD /p, /p/*; * *',
    );
  });
});

describe('authorizationFor with per-edge rules', () => {
  it('allows a caller the method and path its rules name', () => {
    expect(catalog.check(gateway, 'GET', '/products')).toBeUndefined();
    expect(catalog.check(gateway, 'HEAD', '/products/sku-0001')).toBeUndefined();
    expect(catalog.check(orders, 'POST', '/reservations')).toBeUndefined();
    expect(catalog.check(orders, 'DELETE', '/reservations/r-1')).toBeUndefined();
  });

  it('refuses the wrong method on an allowed path, naming caller, request and rules', () => {
    expect(catalog.check(gateway, 'POST', '/products')).toBe(
      'gateway may not POST /products on catalog; mesh/policy.yaml allows only GET|HEAD /products, /products/*',
    );
    expect(catalog.check(orders, 'GET', '/reservations')).toMatch(
      /^orders may not GET \/reservations on catalog/,
    );
  });

  it('refuses an allowed method on a path outside the rules', () => {
    expect(catalog.check(orders, 'POST', '/products')).toMatch(
      /^orders may not POST \/products on catalog; /,
    );
    expect(catalog.check(gateway, 'GET', '/openapi.json')).toMatch(/^gateway may not GET \/openapi\.json/);
    expect(catalog.check(gateway, 'GET', '/metrics')).toMatch(/may not GET \/metrics/);
  });

  it('lets an edge without rules send anything', () => {
    const o = authorizationFor(policy, 'orders');
    expect(o.check(gateway, 'DELETE', '/whatever')).toBeUndefined();
    expect(o.check(gateway, 'POST', '/orders')).toBeUndefined();
  });

  it('rules with paths only allow every method on them (suffix and exact)', () => {
    const f = authorizationFor(policy, 'frontend');
    expect(f.check(gateway, 'GET', '/js/app.js')).toBeUndefined();
    expect(f.check(gateway, 'POST', '/index.html')).toBeUndefined();
    expect(f.check(gateway, 'GET', '/styles.css')).toMatch(/may not GET \/styles\.css/);
  });

  it('gives a stand-in the rules of the workload it stands in for; a scraper only its path; health to all', () => {
    const proxy = spiffeId('edge-proxy', 'edge');
    expect(edgeOperations(policy, 'edge-proxy', 'catalog', true)).toEqual(policy.callRules.gateway?.catalog);
    expect(catalog.check(proxy, 'GET', '/products')).toBeUndefined();
    expect(catalog.check(proxy, 'POST', '/reservations')).toMatch(
      /sa\/edge-proxy may not POST \/reservations/,
    );
    const prom = spiffeId('prometheus', 'monitoring');
    expect(catalog.check(prom, 'GET', '/metrics')).toBeUndefined();
    expect(catalog.check(prom, 'GET', '/products')).toMatch(/may not GET \/products/);
    expect(catalog.check(orders, 'GET', '/health/ready')).toBeUndefined();
  });

  it('still refuses a caller without an edge, naming the missing edge', () => {
    expect(catalog.check(spiffeId('frontend'), 'GET', '/products')).toBe(
      'mesh/policy.yaml has no edge frontend -> catalog',
    );
  });
});

describe('rules in the policy schema', () => {
  it('keeps the plain list form and splits names from rules', () => {
    expect(policy.calls.gateway).toEqual(['catalog', 'frontend', 'orders', 'redis']);
    expect(policy.callRules.gateway?.orders).toBeUndefined();
    expect(policyOperations(policy)).toContain('orders -> catalog: DELETE /reservations/*');
  });

  it('refuses a malformed path, naming the field', () => {
    const bad = POLICY.replace('/products/*]', '/pro*ducts]');
    expect(issues(bad).join('\n')).toMatch(/calls\.gateway\.0\.catalog\.0\.paths\.1: must be an exact path/);
  });

  it('names the field of a wrong method inside a rule (not just "Invalid input" for the entry)', () => {
    const bad = POLICY.replace('methods: [DELETE]', 'methods: [DELTE]');
    expect(issues(bad).join('\n')).toMatch(/^calls\.orders\.0\.catalog\.1\.methods\.0: Invalid option/);
  });

  it('refuses rules on a datastore edge and an operation with neither methods nor paths', () => {
    const onRedis = POLICY.replace('    - redis\n  orders', '    - redis: [{ methods: [GET] }]\n  orders');
    expect(issues(onRedis)).toContain(
      'calls.gateway.3.redis: "redis" is a datastore: methods and paths are for HTTP services',
    );
    const empty = POLICY.replace('{ methods: [DELETE], paths: [/reservations/*] }', '{}');
    expect(issues(empty).join('\n')).toMatch(/calls\.orders\.0\.catalog\.1: give methods, paths or both/);
  });

  it("refuses an edge policy whose breaker probe the edge's rules would refuse", () => {
    const doc = `${POLICY}edgePolicies:\n  orders:\n    catalog: { breaker: { probe: { path: '/products?limit=1' } } }\n`;
    expect(issues(doc)).toContain(
      'edgePolicies.orders.catalog.breaker.probe: the rules of orders -> catalog do not allow GET /products',
    );
  });

  it('the checked-in policy: gateway reads the catalog, orders reserves, nobody else gets a rule-less catalog edge', () => {
    const real = loadPolicy();
    const c = authorizationFor(real, 'catalog');
    expect(c.check(spiffeId('gateway'), 'GET', '/products/sku-0001')).toBeUndefined();
    expect(c.check(spiffeId('gateway'), 'POST', '/reservations')).toMatch(/may not POST/);
    expect(c.check(spiffeId('orders'), 'POST', '/reservations')).toBeUndefined();
    expect(c.check(spiffeId('orders'), 'GET', '/products')).toBeUndefined(); // its breaker's probe
    expect(c.check(spiffeId('orders'), 'POST', '/products')).toMatch(
      /^orders may not POST \/products on catalog/,
    );
  });
});
