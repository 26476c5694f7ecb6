/**
 * gateway.yaml → Envoy Gateway: a Gateway API Gateway, HTTPRoutes, and
 * Envoy Gateway BackendTrafficPolicies carrying each upstream's call policy
 * (retries, per-try timeout and backoff, circuit breaker, load balancer,
 * passive health check) and the global rate limits, plus a SecurityPolicy for API keys.
 * gateway.yaml is read with the gateway's own config loader, so it is
 * validated exactly as the gateway validates it.
 *
 * Reads (GET, HEAD) and writes get separate HTTPRoutes because a
 * BackendTrafficPolicy applies to a whole route and retries are only safe
 * for reads.
 */

import type { GatewayConfig, RateLimitPolicy, RouteConfig } from '@breakwater/gateway/config';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import type {
  IBackendTrafficPolicy,
  ISecurityPolicy,
} from '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1';
import type {
  IGateway,
  IGatewayClass,
  IHTTPRoute,
} from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import type { ISecret } from 'kubernetes-models/v1';
import { balancingApproximations, envoyGatewayBalancing } from '../policy/balancing.ts';
import { ENVOY_PROXY } from './identity.ts';
import { HTTP_SERVICE_PORT } from './platform.ts';

export const GATEWAY_NAME = 'breakwater';
/** The GatewayClass Envoy Gateway's quickstart installs. */
export const GATEWAY_CLASS = 'eg';
/** The header Envoy Gateway's API-key auth forwards the consumer (client id) in; rate limits count by it. */
export const CONSUMER_HEADER = 'x-consumer';
const API_KEY_SECRET = 'gateway-api-keys';
const READS = new Set(['GET', 'HEAD']);
const PART_OF = { 'app.kubernetes.io/part-of': 'breakwater' };

type RateLimitRule = NonNullable<
  NonNullable<IBackendTrafficPolicy['spec']['rateLimit']>['global']
>['rules'][number];
type Upstream = GatewayConfig['upstreams'][string];

/** A Gateway API duration (GEP-2257: h, m, s, ms; no fractions). */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const UNIT = { second: 'Second', minute: 'Minute', hour: 'Hour' } as const;

/** The rules of one gateway.yaml rate-limit policy (one per window). */
function rateLimitRules(p: RateLimitPolicy, shared: boolean): RateLimitRule[] {
  const selectors: NonNullable<RateLimitRule['clientSelectors']>[number] = {};
  if (p.consumer !== undefined)
    selectors.headers = [{ name: CONSUMER_HEADER, type: 'Exact', value: p.consumer }];
  if (p.limitBy === 'ip') selectors.sourceCIDR = { type: 'Distinct', value: '0.0.0.0/0' };
  else if (p.limitBy === 'consumer' && p.consumer === undefined)
    selectors.headers = [{ name: CONSUMER_HEADER, type: 'Distinct' }];
  else if (p.limitBy === 'header') selectors.headers = [{ name: p.header as string, type: 'Distinct' }];
  else if (p.limitBy === 'path')
    throw new Error(`rate limit ${p.name}: limitBy path has no Envoy Gateway selector`);
  return (['second', 'minute', 'hour'] as const)
    .filter((w) => p.limits[w] !== undefined)
    .map((w) => ({
      clientSelectors: [selectors],
      limit: { requests: p.limits[w] as number, unit: UNIT[w] },
      ...(shared ? { shared: true } : {}),
    }));
}

function trafficPolicy(
  policy: MeshPolicy,
  name: string,
  route: RouteConfig,
  u: Upstream,
  reads: boolean,
  limits: RateLimitRule[],
): IBackendTrafficPolicy {
  const retry = u.retry;
  const perTry = route.timeoutMs ?? u.timeoutMs;
  const triggers: ('connect-failure' | 'reset' | 'gateway-error' | 'retriable-status-codes')[] = [];
  if (retry.onConnectError) triggers.push('connect-failure', 'reset');
  if (retry.onTimeout) triggers.push('gateway-error');
  if (retry.statuses.length > 0) triggers.push('retriable-status-codes');
  return {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'BackendTrafficPolicy',
    metadata: { name, namespace: policy.namespace, labels: PART_OF },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name }],
      ...(reads && retry.maxRetries > 0
        ? {
            retry: {
              numRetries: retry.maxRetries,
              perRetry: {
                timeout: duration(perTry),
                backOff: {
                  baseInterval: duration(retry.backoff.baseMs),
                  maxInterval: duration(retry.backoff.capMs),
                },
              },
              retryOn: {
                triggers,
                ...(retry.statuses.length > 0 ? { httpStatusCodes: [...retry.statuses] } : {}),
              },
            },
          }
        : {}),
      // the bulkhead and pool as Envoy circuit breakers
      circuitBreaker: {
        maxConnections: u.pool.connections,
        maxParallelRequests: u.bulkhead.maxConcurrent,
        maxPendingRequests: Math.max(1, u.bulkhead.maxQueue),
        maxParallelRetries: Math.max(1, Math.ceil((u.bulkhead.maxConcurrent * u.retry.budget.percent) / 100)),
      },
      // the caller's balancing and per-host outlier detection (policy/balancing.ts)
      ...envoyGatewayBalancing(u, duration),
      timeout: {
        tcp: { connectTimeout: duration(u.pool.connectTimeoutMs) },
        http: { connectionIdleTimeout: duration(u.pool.keepAliveTimeoutMs) },
      },
      ...(limits.length > 0 ? { rateLimit: { type: 'Global', global: { rules: limits } } } : {}),
    },
  };
}

type HTTPRouteRule = NonNullable<IHTTPRoute['spec']['rules']>[number];

/**
 * Gateway API's CEL rule on HTTPRoute rules (enforced by the API server, not
 * by the OpenAPI schema): "When using URLRewrite filter with
 * path.replacePrefixMatch, exactly one PathPrefix match must be specified" —
 * the prefix being replaced must be unambiguous. Returns the rules that break
 * it, as `<route> rules[i]: <why>`.
 */
export function prefixRewriteProblems(route: IHTTPRoute): string[] {
  return (route.spec?.rules ?? []).flatMap((rule, i) => {
    const rewrites = (rule.filters ?? []).some(
      (f) => f.type === 'URLRewrite' && f.urlRewrite?.path?.type === 'ReplacePrefixMatch',
    );
    const matches = rule.matches ?? [];
    const ok = matches.length === 1 && matches[0]?.path?.type === 'PathPrefix';
    return rewrites && !ok
      ? [
          `${route.metadata?.name} rules[${i}]: a ReplacePrefixMatch rewrite needs exactly one PathPrefix match, has ${matches.length}`,
        ]
      : [];
  });
}

function httpRoute(
  policy: MeshPolicy,
  name: string,
  route: RouteConfig,
  methods: string[],
  u: Upstream,
): IHTTPRoute {
  const rest =
    route.stripPrefix === undefined ? undefined : route.path.slice(route.stripPrefix.length) || '/';
  const rewrite = rest !== undefined && route.stripPrefix !== '/';
  const matches = methods.map((method) => ({
    path: { type: 'PathPrefix' as const, value: route.path },
    method: method as 'GET',
  }));
  const rule = (these: typeof matches): HTTPRouteRule => ({
    matches: these,
    ...(rewrite
      ? {
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: rest } },
            },
          ],
        }
      : {}),
    backendRefs: [{ name: route.upstream, port: HTTP_SERVICE_PORT }],
    timeouts: {
      request: duration(u.deadlineMs),
      backendRequest: duration(route.timeoutMs ?? u.timeoutMs),
    },
  });
  const httpRoute: IHTTPRoute = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: policy.namespace, labels: PART_OF },
    spec: {
      parentRefs: [{ name: GATEWAY_NAME }],
      // A prefix rewrite allows one match per rule (prefixRewriteProblems):
      // one rule per method then, else one rule for all.
      rules: rewrite ? matches.map((m) => rule([m])) : [rule(matches)],
    },
  };
  const problems = prefixRewriteProblems(httpRoute);
  if (problems.length > 0) throw new Error(`Envoy Gateway rendering: ${problems.join('; ')}`);
  return httpRoute;
}

export interface EnvoyGatewayRender {
  objects: object[];
  /** What Envoy Gateway cannot express as gateway.yaml says it. */
  approximations: string[];
}

export function renderEnvoyGateway(policy: MeshPolicy, gw: GatewayConfig): EnvoyGatewayRender {
  const approximations: string[] = [];
  const gateway: IGateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: GATEWAY_NAME, namespace: policy.namespace, labels: PART_OF },
    spec: {
      gatewayClassName: GATEWAY_CLASS,
      // the proxy's settings: its client certificate towards the services (identity.ts)
      infrastructure: {
        parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: ENVOY_PROXY },
      },
      listeners: [
        { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } },
      ],
    },
  };
  const gatewayClass: IGatewayClass = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: GATEWAY_CLASS, labels: PART_OF },
    spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
  };
  const objects: object[] = [gatewayClass, gateway];
  // consumer-wide policies count across every route: one shared counter per rule
  const consumerWide = gw.rateLimits.filter((p) => p.route === undefined);
  for (const p of gw.rateLimits) {
    if (p.window === 'sliding')
      approximations.push(
        `rate limit ${p.name}: sliding window rendered as fixed windows (Envoy's rate limit service)`,
      );
    if (p.onRedisDown === 'fail-closed')
      approximations.push(
        `rate limit ${p.name}: fail-closed is not expressible; Envoy fails open while its rate limit service is down`,
      );
  }
  approximations.push(
    'rate limits: every matching rule counts (Envoy), where gateway.yaml applies only the most specific policy (Kong precedence)',
  );
  for (const [name, u] of Object.entries(gw.upstreams))
    approximations.push(...balancingApproximations('envoy-gateway', `upstream ${name}`, u));
  for (const route of gw.routes) {
    const u = gw.upstreams[route.upstream];
    if (u === undefined) throw new Error(`route ${route.name}: unknown upstream ${route.upstream}`);
    const limits = [
      ...gw.rateLimits.filter((p) => p.route === route.name).flatMap((p) => rateLimitRules(p, false)),
      ...consumerWide.flatMap((p) => rateLimitRules(p, true)),
    ];
    const reads = route.methods.filter((m) => READS.has(m));
    const writes = route.methods.filter((m) => !READS.has(m));
    for (const [name, methods, isRead] of [
      [route.name, reads, true],
      [`${route.name}-writes`, writes, false],
    ] as const) {
      if (methods.length === 0) continue;
      objects.push(httpRoute(policy, name, route, [...methods], u));
      objects.push(trafficPolicy(policy, name, route, u, isRead, limits));
    }
  }
  // API keys: Envoy Gateway's apiKeyAuth forwards the consumer name for the rate limits
  const keyed = gw.consumers.filter((c) => c.apiKeys.length > 0);
  const secret: ISecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: API_KEY_SECRET, namespace: policy.namespace, labels: PART_OF },
    type: 'Opaque',
    // gateway.yaml's development keys: fake and checked in on purpose
    stringData: Object.fromEntries(keyed.map((c) => [c.name, c.apiKeys[0] as string])),
  };
  for (const c of keyed)
    if (c.apiKeys.length > 1) approximations.push(`consumer ${c.name}: only its first API key is rendered`);
  for (const c of gw.consumers)
    if (c.jwt.length > 0)
      approximations.push(`consumer ${c.name}: JWT credentials are not rendered (API keys only)`);
  const authRoutes = gw.routes.filter((r) => r.auth === 'required');
  const security: ISecurityPolicy[] = authRoutes.flatMap((r) =>
    [r.name, `${r.name}-writes`]
      .filter((n) =>
        objects.some((o) => (o as IHTTPRoute).kind === 'HTTPRoute' && (o as IHTTPRoute).metadata?.name === n),
      )
      .map((n) => ({
        apiVersion: 'gateway.envoyproxy.io/v1alpha1',
        kind: 'SecurityPolicy',
        metadata: { name: n, namespace: policy.namespace, labels: PART_OF },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: n }],
          apiKeyAuth: {
            credentialRefs: [{ name: API_KEY_SECRET }],
            extractFrom: [{ headers: ['apikey'] }],
            forwardClientIDHeader: CONSUMER_HEADER,
            sanitize: true,
          },
        },
      })),
  );
  if (gw.routes.some((r) => r.allowConsumers !== undefined))
    approximations.push('allowConsumers is not rendered (every authenticated consumer may use the route)');
  objects.push(secret, ...security);
  return { objects, approximations };
}
