// biome-ignore-all lint/suspicious/noExplicitAny: the tests navigate parsed, untyped YAML documents
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '@breakwater/gateway/config';
import { POLICY_MAPPING } from '@breakwater/mesh/policy';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { validateEnvoyBootstrap } from '../../src/gateway/envoy-validate.ts';
import { validateKongFile } from '../../src/gateway/kong-validate.ts';
import { RENDERED, renderAll } from '../../src/gateway/render.ts';
import { renderEnvoy } from '../../src/gateway/render-envoy.ts';
import { REPO_ROOT } from '../../src/root.ts';

const GATEWAY_DIR = join(REPO_ROOT, 'gateway');

const loaded = loadConfig(join(GATEWAY_DIR, 'gateway.yaml'));
const rendered = renderAll(loaded);
const kong = parse(rendered.kong) as Record<string, unknown[]> & { _format_version: string };
const envoy = parse(rendered.envoy) as Record<string, unknown>;
const clone = <T>(o: T): T => structuredClone(o);

describe('rendered Kong and Envoy config', () => {
  it('the checked-in files are what gateway.yaml renders to (run `npm run render` when this fails)', () => {
    expect(readFileSync(join(REPO_ROOT, RENDERED.kong), 'utf8')).toBe(rendered.kong);
    expect(readFileSync(join(REPO_ROOT, RENDERED.envoy), 'utf8')).toBe(rendered.envoy);
    expect(renderAll(loaded)).toEqual(rendered); // deterministic
  });

  it('Kong: services, routes, consumers with key-auth and jwt credentials, rate-limiting with policy redis', () => {
    expect(kong._format_version).toBe('3.0');
    const services = kong.services as {
      name: string;
      url: string;
      routes: { paths: string[]; strip_path: boolean }[];
    }[];
    expect(services.find((s) => s.name === 'orders')).toMatchObject({
      url: 'http://orders.breakwater.svc:80/orders',
      routes: [{ paths: ['/api/orders'], strip_path: true }],
    });
    const consumers = kong.consumers as {
      username: string;
      keyauth_credentials?: unknown[];
      jwt_secrets?: { algorithm: string; rsa_public_key?: string }[];
    }[];
    expect(consumers.find((c) => c.username === 'alice')?.keyauth_credentials).toHaveLength(1);
    const bob = consumers.find((c) => c.username === 'bob');
    expect(bob?.jwt_secrets?.map((s) => s.algorithm)).toEqual(['HS256', 'RS256', 'ES256']);
    expect(bob?.jwt_secrets?.[1]?.rsa_public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const rl = (
      kong.plugins as {
        name: string;
        consumer?: string;
        route?: string;
        tags: string[];
        config: Record<string, unknown>;
      }[]
    ).filter((p) => p.name === 'rate-limiting');
    expect(rl.find((p) => p.consumer === 'alice')?.config).toMatchObject({
      minute: 100,
      limit_by: 'consumer',
      policy: 'redis',
    });
    expect(rl.find((p) => p.route === 'payments')?.tags).toContain('approximation-sliding-as-fixed');
    expect(rl.find((p) => p.route === 'orders')?.config.fault_tolerant).toBe(false);
    expect(rendered.kong).toContain('# Approximations');
  });

  it('Envoy: clusters with circuit breakers, retry budget and outlier detection; routes with retry back-off and 100 % local rate limits', () => {
    const clusters = (envoy.static_resources as { clusters: Record<string, unknown>[] }).clusters;
    const catalog = clusters.find((c) => c.name === 'catalog') as Record<string, any>;
    expect(catalog.circuit_breakers.thresholds[0]).toMatchObject({
      max_requests: 256,
      retry_budget: { budget_percent: { value: 20 } },
    });
    // the numbers the gateway's own mesh client balances and ejects with
    const od = loaded.config.upstreams.catalog?.outlierDetection;
    expect(catalog.lb_policy).toBe('LEAST_REQUEST');
    expect(catalog.least_request_lb_config).toEqual({ choice_count: 2 });
    expect(catalog.common_lb_config).toEqual({ healthy_panic_threshold: { value: 50 } });
    expect(catalog.outlier_detection).toMatchObject({
      consecutive_5xx: od?.consecutive5xx,
      enforcing_consecutive_5xx: 100,
      enforcing_consecutive_gateway_failure: 0,
      enforcing_failure_percentage: od?.enforcingFailurePercentage,
      enforcing_success_rate: 0, // Envoy's default is 100; the mesh has no success-rate detection
      // gateway.yaml's catalog policy (one bad instance among three: the bad-replica drill)
      interval: `${(od?.intervalMs ?? 0) / 1000}s`,
      base_ejection_time: `${(od?.baseEjectionTimeMs ?? 0) / 1000}s`,
      max_ejection_time: `${(od?.maxEjectionTimeMs ?? 0) / 1000}s`,
      max_ejection_percent: od?.maxEjectionPercent,
    });
    const hcm = (envoy.static_resources as any).listeners[0].filter_chains[0].filters[0].typed_config;
    const routes = hcm.route_config.virtual_hosts[0].routes as Record<string, any>[];
    const cat = routes.find((r) => r.name === 'catalog');
    expect(cat?.match.path_separated_prefix).toBe('/api/catalog');
    // a retry goes to another host than the failed try, as the mesh client's
    expect(cat?.route.retry_policy.retry_host_predicate[0].name).toBe(
      'envoy.retry_host_predicates.previous_hosts',
    );
    expect(cat?.route.retry_policy.retry_back_off).toEqual({
      base_interval: '0.025s',
      max_interval: '0.250s',
    });
    const lrl = cat?.typed_per_filter_config['envoy.filters.http.local_ratelimit'];
    expect(lrl.filter_enabled.default_value).toEqual({ numerator: 100, denominator: 'HUNDRED' });
    expect(lrl.filter_enforced.default_value).toEqual({ numerator: 100, denominator: 'HUNDRED' });
    // POST /api/orders is a separate route without retries.
    expect(routes.find((r) => r.name === 'orders-unsafe')?.route.retry_policy).toBeUndefined();
  });

  it('renders every cluster field POLICY_MAPPING names for Envoy, from the policy it names', () => {
    const clusters = (envoy.static_resources as { clusters: Record<string, any>[] }).clusters;
    const rows = POLICY_MAPPING.filter((r) => r.envoy?.startsWith('cluster.'));
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      // `cluster.a.b[].c (note)` → the path a, b[], c
      const path = (row.envoy as string).split(/[ …]/)[0]?.split('.').slice(1) ?? [];
      if (path.some((p) => p === '')) continue; // `…` elides a long path
      const reach = (o: any, [head, ...rest]: string[]): unknown =>
        head === undefined
          ? o
          : o === undefined
            ? undefined
            : head.endsWith('[]')
              ? reach(o[head.slice(0, -2)]?.[0], rest)
              : reach(o[head], rest);
      const needs = row.field === 'loadBalancer.choiceCount' ? 'LEAST_REQUEST' : undefined;
      for (const c of clusters) {
        if (needs !== undefined && c.lb_policy !== needs) continue;
        expect(reach(c, path), `${c.name}: ${row.field} → ${row.envoy}`).toBeDefined();
      }
    }
    const doc = parse(readFileSync(join(GATEWAY_DIR, 'gateway.yaml'), 'utf8')) as {
      upstreams: Record<string, Record<string, unknown>>;
    };
    Object.assign(doc.upstreams.catalog ?? {}, {
      loadBalancer: { policy: 'round_robin' },
      outlierDetection: { enabled: false },
    });
    const other = renderEnvoy(parseConfigText(stringify(doc))).doc as any;
    const cat = (other.static_resources.clusters as Record<string, any>[]).find((c) => c.name === 'catalog');
    expect(cat?.lb_policy).toBe('ROUND_ROBIN');
    expect(cat?.least_request_lb_config).toBeUndefined();
    expect(cat?.outlier_detection).toBeUndefined();
  });

  it('the Envoy validator uses Envoy’s protos: it rejects unknown fields, bad enums and unknown @types, in typed configs too', () => {
    expect(validateEnvoyBootstrap(envoy)).toEqual([]);
    const bad = clone(envoy) as any;
    bad.static_resources.clusters[0].circuit_breakers.thresholds[0].retry_budjet = {};
    const hcm = bad.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.route_config.virtual_hosts[0].routes[0].typed_per_filter_config[
      'envoy.filters.http.local_ratelimit'
    ].filter_enforced.default_value.denominator = 'PERCENT';
    hcm.http_filters[1].typed_config['@type'] =
      'type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope';
    bad.static_resources.clusters[1].connect_timeout = '1 second';
    const problems = validateEnvoyBootstrap(bad);
    expect(
      problems.some((p) =>
        p.endsWith('retry_budjet: unknown field of envoy.config.cluster.v3.CircuitBreakers.Thresholds'),
      ),
    ).toBe(true);
    expect(
      problems.some((p) =>
        p.includes('PERCENT is not a value of enum envoy.type.v3.FractionalPercent.DenominatorType'),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.includes('unknown type envoy.extensions.filters.http.nope.v3.Nope'))).toBe(
      true,
    );
    expect(problems.some((p) => p.includes('connect_timeout: expected a duration'))).toBe(true);
    expect(problems).toHaveLength(4);
  });

  it('the Kong validator rejects unknown fields, missing periods, unordered periods and dangling references', () => {
    expect(validateKongFile(kong)).toEqual([]);
    const bad = clone(kong) as any;
    const rl = bad.plugins.find((p: any) => p.name === 'rate-limiting' && p.consumer === 'alice');
    rl.config.minutes = 5;
    const rl2 = bad.plugins.find((p: any) => p.name === 'rate-limiting' && p.route === 'catalog');
    rl2.config.minute = 1;
    rl2.route = 'nope';
    bad.services[0].routes[0].strip = true;
    const problems = validateKongFile(bad);
    expect(problems.join('\n')).toMatch(/minutes/);
    expect(problems.join('\n')).toMatch(/The limit for minute cannot be lower than the limit for second/);
    expect(problems.join('\n')).toMatch(/unknown route nope/);
    expect(problems.join('\n')).toMatch(/strip/);
  });
});

describe('route-level retry override', () => {
  it("renders to the Envoy route's retry_policy (the gateway itself: gateway/test/route-retry.test.ts)", () => {
    const doc = parse(readFileSync(join(GATEWAY_DIR, 'gateway.yaml'), 'utf8')) as { routes: unknown[] };
    doc.routes.unshift({
      name: 'retrying',
      path: '/api/retrying',
      methods: ['GET'],
      upstream: 'catalog',
      retry: { maxRetries: 2, statuses: [503] },
    });
    const config = parseConfigText(stringify(doc));
    const find = (node: unknown): Record<string, unknown> | undefined => {
      if (Array.isArray(node))
        for (const n of node) {
          const f = find(n);
          if (f) return f;
        }
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if (o.name === 'retrying' && o.route) return o;
        for (const v of Object.values(o)) {
          const f = find(v);
          if (f) return f;
        }
      }
      return undefined;
    };
    const route = find(renderEnvoy(config).doc)?.route as { retry_policy?: Record<string, unknown> };
    expect(route.retry_policy).toMatchObject({ num_retries: 2, retriable_status_codes: [503] });
  });
});
