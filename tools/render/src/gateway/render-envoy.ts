/**
 * gateway.yaml → an Envoy v3 static bootstrap.
 *
 * - Clusters per upstream (STRICT_DNS to <name>.<namespace>.svc:80), with the
 *   mesh vocabulary mapped as mesh/src/policy.ts POLICY_MAPPING says:
 *   bulkhead → circuit_breakers max_requests / max_pending_requests, pool →
 *   max_connections, connect_timeout and idle_timeout, retry budget →
 *   retry_budget, loadBalancer → lb_policy (+ choice_count, panic threshold),
 *   outlierDetection → outlier_detection (policy/balancing.ts, the numbers
 *   the mesh client ejects with). The mesh's per-upstream breaker has no
 *   Envoy equivalent (outlier detection is per host) and is not rendered.
 *   The address is the Service name: per-host balancing and ejection act
 *   on the pods only when it resolves to them (a headless Service).
 * - Routes per gateway route, matched on whole path segments
 *   (path_separated_prefix) and method; the prefix strip is a regex_rewrite
 *   (prefix_rewrite would leave `//products`). Idempotent methods get the
 *   retry_policy (num_retries, per_try_timeout, retry_back_off, Retry-After
 *   honoured); other methods none, as the mesh retries them only with an
 *   Idempotency-Key. The route timeout is the overall deadline. A retry goes
 *   to another host than the failed try (previous_hosts), as the mesh client's.
 * - Rate limits: a local token bucket per route (envoy.filters.http.local_ratelimit)
 *   with filter_enabled and filter_enforced at 100 % (Envoy's default of 0 %
 *   enforces nothing). Envoy's local limiter is per instance and per route:
 *   the shortest window of each route-scoped policy becomes the bucket;
 *   consumer-scoped policies are not expressible there and are listed as approximations.
 * - Auth is not rendered: Envoy's edge here is a plain resilient proxy; put
 *   the Breakwater gateway or Kong in front for consumers and JWTs.
 * - staleIfError is not rendered: Envoy's HTTP cache filter
 *   (envoy.filters.http.cache, work in progress) caches fresh answers but
 *   has no stale-if-error; listed as an approximation.
 * - methodsAt: each route entry matches the route's methods under the whole
 *   prefix; Envoy answers a method no entry takes with 404, not 405.
 */
import type { GatewayConfig, RouteConfig, UpstreamConfig } from '@breakwater/gateway/config';
import { WINDOW_SECONDS, WINDOWS } from '@breakwater/gateway/config';
import { envoyClusterBalancing, envoyDuration } from '../policy/balancing.ts';
import type { RenderResult } from './render-kong.ts';

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];
const T = 'type.googleapis.com/envoy.extensions';

const dur = envoyDuration;
const percent100 = (key: string) => ({
  runtime_key: key,
  default_value: { numerator: 100, denominator: 'HUNDRED' },
});
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function cluster(name: string, up: UpstreamConfig, ns: string): Record<string, unknown> {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: dur(up.pool.connectTimeoutMs),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: `${name}.${ns}.svc`, port_value: 80 } } } },
          ],
        },
      ],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': `${T}.upstreams.http.v3.HttpProtocolOptions`,
        common_http_protocol_options: { idle_timeout: dur(up.pool.keepAliveTimeoutMs) },
        explicit_http_config: { http_protocol_options: {} },
      },
    },
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: up.pool.connections,
          max_pending_requests: up.bulkhead.maxQueue,
          max_requests: up.bulkhead.maxConcurrent,
          retry_budget: {
            budget_percent: { value: up.retry.budget.percent },
            min_retry_concurrency: Math.ceil(up.retry.budget.minRetriesPerSec),
          },
        },
      ],
    },
    ...envoyClusterBalancing(up),
  };
}

function routeEntries(
  config: GatewayConfig,
  route: RouteConfig,
  approx: string[],
): Record<string, unknown>[] {
  const up = config.upstreams[route.upstream] as UpstreamConfig;
  const timeoutMs = route.timeoutMs ?? up.timeoutMs;
  const deadlineMs = route.deadlineMs ?? up.deadlineMs;
  const match = (methods: string[]) => ({
    ...(route.path === '/' ? { prefix: '/' } : { path_separated_prefix: route.path }),
    headers: [{ name: ':method', string_match: { safe_regex: { regex: `^(${methods.join('|')})$` } } }],
  });
  const rewrite =
    route.stripPrefix === undefined || route.stripPrefix === '/'
      ? {}
      : { regex_rewrite: { pattern: { regex: `^${escapeRe(route.stripPrefix)}/?` }, substitution: '/' } };
  // A route's retry override replaces the upstream's fields (Envoy's retry_policy is per route anyway).
  const r = { ...up.retry, ...route.retry };
  const retryOn = ['retriable-status-codes'];
  if (r.onConnectError) retryOn.push('connect-failure', 'reset');
  if (r.onTimeout) retryOn.push('gateway-error');
  const retryPolicy = {
    retry_on: retryOn.join(','),
    num_retries: r.maxRetries,
    per_try_timeout: dur(timeoutMs),
    retriable_status_codes: [...r.statuses],
    // As the mesh client: a retry goes to another host than the failed try where one exists.
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: { '@type': `${T}.retry.host.previous_hosts.v3.PreviousHostsPredicate` },
      },
    ],
    host_selection_retry_max_attempts: 3,
    retry_back_off: { base_interval: dur(r.backoff.baseMs), max_interval: dur(r.backoff.capMs) },
    ...(r.honorRetryAfter
      ? {
          rate_limited_retry_back_off: {
            reset_headers: [{ name: 'Retry-After', format: 'SECONDS' }],
            max_interval: dur(deadlineMs),
          },
        }
      : {}),
  };
  const perFilter = localRateLimit(config, route, approx);
  const entries: Record<string, unknown>[] = [];
  const safe = route.methods.filter((m) => IDEMPOTENT.includes(m));
  const unsafe = route.methods.filter((m) => !IDEMPOTENT.includes(m));
  for (const [suffix, methods, retry] of [
    ['', safe, r.maxRetries > 0],
    ['-unsafe', unsafe, false],
  ] as const) {
    if (methods.length === 0) continue;
    entries.push({
      name: `${route.name}${suffix}`,
      match: match([...methods]),
      route: {
        cluster: route.upstream,
        timeout: dur(deadlineMs),
        ...rewrite,
        ...(retry ? { retry_policy: retryPolicy } : {}),
      },
      ...(perFilter ? { typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': perFilter } } : {}),
    });
  }
  return entries;
}

function localRateLimit(
  config: GatewayConfig,
  route: RouteConfig,
  approx: string[],
): Record<string, unknown> | undefined {
  const p = config.rateLimits.find((x) => x.route === route.name && x.consumer === undefined);
  if (!p) return undefined;
  const windows = WINDOWS.filter((w) => p.limits[w] !== undefined);
  const w = windows[0];
  if (w === undefined) return undefined;
  const limit = p.limits[w] as number;
  if (windows.length > 1)
    approx.push(
      `envoy: policy "${p.name}" has ${windows.join(', ')} windows; Envoy's local token bucket takes one: ${limit} per ${w}`,
    );
  approx.push(
    `envoy: policy "${p.name}" is enforced per Envoy instance (local_ratelimit), not shared through Redis, and not by ${p.limitBy}`,
  );
  return {
    '@type': `${T}.filters.http.local_ratelimit.v3.LocalRateLimit`,
    stat_prefix: `bw_${p.name.replaceAll('-', '_')}`,
    token_bucket: { max_tokens: limit, tokens_per_fill: limit, fill_interval: dur(WINDOW_SECONDS[w] * 1000) },
    filter_enabled: percent100(`local_rate_limit.${p.name}.enabled`),
    filter_enforced: percent100(`local_rate_limit.${p.name}.enforced`),
    enable_x_ratelimit_headers: p.hideClientHeaders ? 'OFF' : 'DRAFT_VERSION_03',
    response_headers_to_add: [
      {
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
        header: { key: 'retry-after', value: String(WINDOW_SECONDS[w]) },
      },
    ],
  };
}

export function renderEnvoy(config: GatewayConfig): RenderResult {
  const approximations: string[] = [];
  const ns = config.render.namespace;
  const ordered = [...config.routes].sort((a, b) => b.path.length - a.path.length);
  const routes = ordered.flatMap((r) => routeEntries(config, r, approximations));
  for (const p of config.rateLimits)
    if (p.consumer !== undefined)
      approximations.push(
        `envoy: policy "${p.name}" is scoped to consumer "${p.consumer}"; Envoy has no consumers here — not rendered`,
      );
  for (const r of config.routes) {
    if (r.staleIfError)
      approximations.push(
        `envoy: route "${r.name}" serves its last good answers when the upstream fails (stale-if-error); Envoy's cache filter has no stale-if-error — not rendered`,
      );
    if (r.methodsAt)
      approximations.push(
        `envoy: route "${r.name}" narrows methods by position (methodsAt); rendered with ${r.methods.join(', ')} under the whole prefix, and Envoy answers a method no route takes with 404, not 405`,
      );
  }
  approximations.push(
    "envoy: the gateway's per-upstream breaker is not rendered (Envoy's outlier detection is per host; the cluster's comes from outlierDetection); the clusters address each Service by name (STRICT_DNS), so lb_policy and outlier_detection act per pod only when the name resolves to the pods (a headless Service) — a ClusterIP is one host, which max_ejection_percent < 100 never ejects",
  );
  if (config.routes.some((r) => r.auth === 'required'))
    approximations.push(
      'envoy: authentication (API keys, JWT) is not rendered; Envoy here is the resilient proxy only',
    );
  const hcm = {
    '@type': `${T}.filters.network.http_connection_manager.v3.HttpConnectionManager`,
    stat_prefix: 'ingress_http',
    codec_type: 'AUTO',
    generate_request_id: true,
    use_remote_address: true,
    xff_num_trusted_hops: config.proxy.trustedHops,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    max_request_headers_kb: Math.ceil(config.proxy.maxHeaderBytes / 1024),
    common_http_protocol_options: {
      max_headers_count: config.proxy.maxHeaderCount,
      headers_with_underscores_action: 'REJECT_REQUEST',
    },
    route_config: {
      name: 'breakwater',
      virtual_hosts: [{ name: 'breakwater', domains: ['*'], routes }],
      request_headers_to_remove: ['x-consumer-username', 'x-bw-timeout-ms'],
    },
    http_filters: [
      {
        name: 'envoy.filters.http.local_ratelimit',
        typed_config: {
          '@type': `${T}.filters.http.local_ratelimit.v3.LocalRateLimit`,
          stat_prefix: 'bw_local_rate_limit',
        },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}.filters.http.router.v3.Router` } },
    ],
  };
  const doc = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } },
    static_resources: {
      listeners: [
        {
          name: 'public',
          address: { socket_address: { address: '0.0.0.0', port_value: config.render.listenPort } },
          per_connection_buffer_limit_bytes: 32768,
          filter_chains: [
            { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] },
          ],
        },
      ],
      clusters: Object.entries(config.upstreams).map(([name, up]) => cluster(name, up, ns)),
    },
  };
  return { doc, approximations };
}
