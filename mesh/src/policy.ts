/**
 * The call policy of one upstream: one zod schema with defaults, validated at
 * start-up (unknown keys refused, the offending field named), then frozen.
 * Field names are chosen to map one to one onto Envoy and Istio; the mapping
 * is exported as data (`POLICY_MAPPING`) for the k8s and gateway renderers and
 * written out as a table in mesh/README.md.
 */
import { z } from 'zod';
import { MeshError } from './errors.ts';

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const BackoffSchema = z.strictObject({
  /** First backoff step, ms (default 25, as Envoy's base_interval). */
  baseMs: ms(1, 60_000).default(25),
  /** Largest backoff, ms (default 250, Envoy's default max_interval = 10 × base). */
  capMs: ms(1, 300_000).default(250),
  /** `full` (default) or `decorrelated`; formulas in backoff.ts. */
  jitter: z.enum(['full', 'decorrelated']).default('full'),
});

export const RetryBudgetSchema = z.strictObject({
  /** Retries as a percentage of requests in the window (default 20 %). */
  percent: z.number().min(0).max(100).default(20),
  /** Retries per second always allowed (default 10). */
  minRetriesPerSec: z.number().min(0).max(10_000).default(10),
  /** Sliding window, ms (default 10 s). */
  ttlMs: ms(100, 600_000).default(10_000),
});

/**
 * Methods the mesh client retries without an idempotency key (RFC 9110
 * §9.2.2 idempotent methods); any other method is retried only when the call
 * carries an `Idempotency-Key`. Read by the client and by the resilience lint.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

export const RetrySchema = z.strictObject({
  /** Retries after the first try (default 2, so at most 3 tries). 0 disables retries. */
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Upstream statuses that are retried (default 502, 503, 504). Only 5xx: 4xx are never retried. */
  statuses: z.array(z.number().int().min(500).max(599)).max(100).default([502, 503, 504]),
  /** Retry tries that failed to connect or were reset (default true). */
  onConnectError: z.boolean().default(true),
  /** Retry tries cut by the per-try timeout (default true). */
  onTimeout: z.boolean().default(true),
  /** Wait what the upstream's Retry-After asks (default true); no retry if it exceeds the deadline. */
  honorRetryAfter: z.boolean().default(true),
  backoff: BackoffSchema.prefault({}),
  budget: RetryBudgetSchema.prefault({}),
});

/**
 * A per-call retry override (`CallOptions.retry`): the retry fields that are
 * about *which* failures of *this* call may be tried again. Every field is
 * optional and replaces the upstream policy's value for the one call; there
 * are no defaults here (what is left out is the policy's). Backoff and the
 * retry budget stay per upstream: the budget only limits a retry storm if
 * every call to the upstream spends from the same one. The per-try timeout
 * has its own per-call override (`CallOptions.timeoutMs`).
 */
export const RetryOverrideSchema = z.strictObject({
  /** Retries after the first try for this call (0–10); 0 disables retries. */
  maxRetries: z.number().int().min(0).max(10).optional(),
  /** Upstream statuses retried for this call; only 5xx. */
  statuses: z.array(z.number().int().min(500).max(599)).max(100).optional(),
  /** Retry tries that failed to connect or were reset. */
  onConnectError: z.boolean().optional(),
  /** Retry tries cut by the per-try timeout. */
  onTimeout: z.boolean().optional(),
});

/** A validated, frozen per-call retry override. */
export type RetryOverride = z.output<typeof RetryOverrideSchema>;

export const BreakerSchema = z.strictObject({
  /** Default true. */
  enabled: z.boolean().default(true),
  /** Open when more than this % of tries in the window failed (default 50). */
  errorThresholdPct: z.number().min(0).max(100).default(50),
  /** Tries needed in the window before the breaker may open (default 20). */
  volumeThreshold: z.number().int().min(0).max(1_000_000).default(20),
  /**
   * Open after this many failed tries in a row, whatever the window holds
   * (0, the default: off): a dependency that stopped answering trips the
   * breaker in a few per-try timeouts instead of once its failures outweigh
   * the window's earlier successes (see breaker.ts).
   */
  consecutiveFailures: z.number().int().min(0).max(1_000_000).default(0),
  /**
   * First time open before one trial call is let through (half-open), ms
   * (default 500 ms). Each failed trial doubles it, up to `resetTimeoutMs`;
   * a close resets it (see client/breaker.ts).
   */
  openBaseMs: ms(1, 3_600_000).default(500),
  /** Longest time open before a trial call: the cap of the growing open interval, ms (default 5 s). */
  resetTimeoutMs: ms(1, 3_600_000).default(5_000),
  /** Rolling statistics window, ms (default 10 s). */
  rollingWindowMs: ms(100, 3_600_000).default(10_000),
  /** Buckets in the window; must divide it (default 10). */
  rollingBuckets: z.number().int().min(1).max(100).default(10),
  /** A successful try slower than this counts as a failure, ms; 0 (default) turns slow-call counting off. */
  slowCallMs: ms(0, 3_600_000).default(0),
  /**
   * Active trial (optional): once the open interval has passed the breaker
   * sends `GET <path>` itself (timeout `timeoutMs`, default 250 ms) instead
   * of waiting for a caller's request; an answer below 500 closes it. Use a
   * cheap, real, idempotent route (see breaker.ts).
   */
  probe: z
    .strictObject({
      path: z.string().regex(/^\/[^\s]*$/, 'a path starting with /'),
      timeoutMs: ms(1, 60_000).default(250),
    })
    .optional(),
});

export const BulkheadSchema = z.strictObject({
  /** Concurrent calls (default 64). */
  maxConcurrent: z.number().int().min(1).max(100_000).default(64),
  /** Calls that may wait for a slot (default 64); the rest are rejected at once. */
  maxQueue: z.number().int().min(0).max(100_000).default(64),
});

export const PoolSchema = z.strictObject({
  /** Keep-alive connections to the upstream (default 32). */
  connections: z.number().int().min(1).max(10_000).default(32),
  /** TCP connect timeout, ms (default 1 s). */
  connectTimeoutMs: ms(1, 60_000).default(1_000),
  /** Idle keep-alive connections are closed after this, ms (default 4 s). */
  keepAliveTimeoutMs: ms(1, 600_000).default(4_000),
});

/**
 * How a call picks one of the upstream's endpoints (Envoy cluster.lb_policy).
 * Only matters when the upstream has more than one endpoint.
 */
export const LoadBalancerSchema = z.strictObject({
  /** `least_request` (default, Envoy's power of `choiceCount` choices), `round_robin` or `random`. */
  policy: z.enum(['least_request', 'round_robin', 'random']).default('least_request'),
  /** least_request: healthy endpoints sampled per pick, the one with fewer active requests wins (default 2). */
  choiceCount: z.number().int().min(2).max(100).default(2),
  /**
   * Below this % of ready endpoints healthy (not ejected), ejections are
   * ignored and every ready endpoint gets traffic (Envoy's
   * healthy_panic_threshold, default 50); 0 turns panic mode off.
   */
  healthyPanicThreshold: z.number().min(0).max(100).default(50),
});

/**
 * Per-endpoint outlier detection with Envoy's semantics and field names
 * (cluster.outlier_detection; client/outlier-detector.ts). Only matters when
 * the upstream has more than one endpoint. Defaults are Envoy's except
 * maxEjectionPercent (see there).
 */
export const OutlierDetectionSchema = z.strictObject({
  /** Default true; false keeps every ready endpoint in rotation. */
  enabled: z.boolean().default(true),
  /** Consecutive 5xx (connect failures count as 503, timeouts as 504) that eject an endpoint (default 5). */
  consecutive5xx: z.number().int().min(1).max(1_000_000).default(5),
  /** % chance a consecutive-5xx detection ejects (default 100). */
  enforcingConsecutive5xx: z.number().int().min(0).max(100).default(100),
  /** Consecutive 502/503/504 that eject an endpoint (default 5). */
  consecutiveGatewayFailure: z.number().int().min(1).max(1_000_000).default(5),
  /** % chance a gateway-failure detection ejects (default 0, as Envoy: detected, counted, not enforced). */
  enforcingConsecutiveGatewayFailure: z.number().int().min(0).max(100).default(0),
  /** An endpoint failing at least this % of its requests in an interval is ejected (default 85). */
  failurePercentageThreshold: z.number().int().min(0).max(100).default(85),
  /** % chance a failure-percentage detection ejects (default 0, as Envoy). */
  enforcingFailurePercentage: z.number().int().min(0).max(100).default(0),
  /** Requests an endpoint needs in the interval to be judged by failure percentage (default 50). */
  failurePercentageRequestVolume: z.number().int().min(1).max(1_000_000).default(50),
  /** Endpoints with that volume needed before failure percentage ejects anything (default 5). */
  failurePercentageMinimumHosts: z.number().int().min(1).max(10_000).default(5),
  /** Time between sweeps (un-ejection, failure percentage), ms (default 10 s). */
  intervalMs: ms(1, 3_600_000).default(10_000),
  /** An endpoint is ejected for baseEjectionTimeMs × the times it was ejected in a row, ms (default 30 s). */
  baseEjectionTimeMs: ms(1, 3_600_000).default(30_000),
  /** The cap of that growing ejection, ms (default 300 s). */
  maxEjectionTimeMs: ms(1, 3_600_000).default(300_000),
  /**
   * Most endpoints ejected at once, % (default 50). Envoy's default 10 never
   * ejects from fewer than 10 hosts (100 × 1 / 3 > 10); the mesh runs 2–5
   * replicas, so half of them.
   */
  maxEjectionPercent: z.number().int().min(0).max(100).default(50),
});

export const UpstreamPolicySchema = z
  .strictObject({
    /** Per-try timeout, ms (default 1 s). */
    timeoutMs: ms(1, 600_000).default(1_000),
    /** Overall deadline covering every try and backoff, ms (default 3 s). */
    deadlineMs: ms(1, 3_600_000).default(3_000),
    retry: RetrySchema.prefault({}),
    breaker: BreakerSchema.prefault({}),
    bulkhead: BulkheadSchema.prefault({}),
    pool: PoolSchema.prefault({}),
    loadBalancer: LoadBalancerSchema.prefault({}),
    outlierDetection: OutlierDetectionSchema.prefault({}),
  })
  .superRefine((p, ctx) => {
    if (p.timeoutMs > p.deadlineMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutMs'],
        message: `must not exceed deadlineMs (${p.deadlineMs})`,
      });
    }
    if (p.retry.backoff.baseMs > p.retry.backoff.capMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'backoff', 'baseMs'],
        message: `must not exceed capMs (${p.retry.backoff.capMs})`,
      });
    }
    if (p.outlierDetection.baseEjectionTimeMs > p.outlierDetection.maxEjectionTimeMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['outlierDetection', 'baseEjectionTimeMs'],
        message: `must not exceed maxEjectionTimeMs (${p.outlierDetection.maxEjectionTimeMs})`,
      });
    }
    if (p.breaker.rollingWindowMs % p.breaker.rollingBuckets !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['breaker', 'rollingBuckets'],
        message: `must divide rollingWindowMs (${p.breaker.rollingWindowMs})`,
      });
    }
  });

/** A validated, frozen policy. */
export type UpstreamPolicy = z.output<typeof UpstreamPolicySchema>;
/** Outlier detection as callers may write it. */
export type OutlierPolicyInput = z.input<typeof OutlierDetectionSchema>;
/** What callers may write: every field optional, defaults fill the rest. */
export type UpstreamPolicyInput = z.input<typeof UpstreamPolicySchema>;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Formats zod issues as `where.field: message; …`. */
export function formatIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = [where, ...i.path.map(String)].filter(Boolean).join('.');
      const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
      return `${path}: ${i.message}${keys}`;
    })
    .join('; ');
}

/**
 * Validates `input` (defaults applied) and returns a deeply frozen policy.
 * Throws MeshError MESH_ERR_INVALID_POLICY naming every bad field, e.g.
 * `policy.catalog.retry.statuses.0: Too small: expected number to be >=500`.
 */
export function parsePolicy(input: unknown, name = 'upstream'): UpstreamPolicy {
  const r = UpstreamPolicySchema.safeParse(input ?? {});
  if (!r.success) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `invalid policy: ${formatIssues(`policy.${name}`, r.error)}`,
    );
  }
  return deepFreeze(r.data);
}

/**
 * Validates a per-call retry override and returns it deeply frozen; a frozen
 * override is used by the client as is (no validation per call), so build it
 * once per route. Throws MESH_ERR_INVALID_POLICY naming each bad field
 * (`retry.catalog.statuses.0: Too small: …`).
 */
export function parseRetryOverride(input: unknown, name = 'call'): RetryOverride {
  const r = RetryOverrideSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `invalid retry override: ${formatIssues(`retry.${name}`, r.error)}`,
    );
  }
  return deepFreeze(r.data);
}

export interface PolicyMappingRow {
  /** Path in UpstreamPolicy. */
  field: string;
  unit: string;
  /** Envoy field (cluster.* or route.*), or null when Envoy has none. */
  envoy: string | null;
  /** Istio field (DestinationRule.* or VirtualService.*), or null when Istio has none. */
  istio: string | null;
  /** How the value converts, when it is not taken as is. */
  note?: string;
}

/**
 * How every policy field renders onto Envoy and Istio (tools/render follows
 * it, and its tests check each non-null column is rendered). The local mesh
 * client runs the same fields: loadBalancer and outlierDetection with Envoy's
 * semantics, so one policy means one behaviour locally and behind a proxy.
 */
export const POLICY_MAPPING: readonly PolicyMappingRow[] = Object.freeze([
  {
    field: 'timeoutMs',
    unit: 'ms',
    envoy: 'route.retry_policy.per_try_timeout',
    istio: 'VirtualService.http[].timeout',
    note: 'each try of the mesh client is one request through the sidecar, so the sidecar route times out per try',
  },
  {
    field: 'deadlineMs',
    unit: 'ms',
    envoy: 'route.timeout',
    istio: null,
    note: 'the mesh client keeps the deadline and sends it along (x-bw-timeout-ms); the sidecar sees single tries',
  },
  {
    field: 'retry.maxRetries',
    unit: 'count',
    envoy: 'route.retry_policy.num_retries',
    istio: 'VirtualService.http[].retries.attempts',
    note: 'always 0: the calling mesh client retries under its budget; sidecar retries would multiply with it (npm run lint -- resilience)',
  },
  {
    field: 'retry.statuses',
    unit: 'HTTP status',
    envoy: 'route.retry_policy.retriable_status_codes (+ retry_on: retriable-status-codes)',
    istio: null,
    note: 'the mesh client retries, not the sidecar',
  },
  {
    field: 'retry.onConnectError',
    unit: 'bool',
    envoy: 'route.retry_policy.retry_on: connect-failure,reset',
    istio: null,
    note: 'the mesh client retries, not the sidecar',
  },
  {
    field: 'retry.onTimeout',
    unit: 'bool',
    envoy: 'route.retry_policy.retry_on: gateway-error (per-try timeout answers 504)',
    istio: null,
    note: 'the mesh client retries, not the sidecar',
  },
  {
    field: 'retry.honorRetryAfter',
    unit: 'bool',
    envoy:
      'route.retry_policy.rate_limited_retry_back_off.reset_headers[{name: Retry-After, format: SECONDS}]',
    istio: null,
  },
  {
    field: 'retry.backoff.baseMs',
    unit: 'ms',
    envoy: 'route.retry_policy.retry_back_off.base_interval',
    istio: null,
    note: 'Istio uses Envoy default 25 ms',
  },
  {
    field: 'retry.backoff.capMs',
    unit: 'ms',
    envoy: 'route.retry_policy.retry_back_off.max_interval',
    istio: null,
  },
  {
    field: 'retry.backoff.jitter',
    unit: 'full|decorrelated',
    envoy: null,
    istio: null,
    note: 'Envoy always uses full jitter',
  },
  {
    field: 'retry.budget.percent',
    unit: '%',
    envoy: 'cluster.circuit_breakers.thresholds[].retry_budget.budget_percent',
    istio: null,
    note: 'Envoy budgets against active requests, the mesh against the request rate in ttlMs',
  },
  {
    field: 'retry.budget.minRetriesPerSec',
    unit: '1/s',
    envoy: 'cluster.circuit_breakers.thresholds[].retry_budget.min_retry_concurrency',
    istio: null,
    note: 'Envoy floor is a concurrency; render the same number',
  },
  { field: 'retry.budget.ttlMs', unit: 'ms', envoy: null, istio: null, note: 'Finagle RetryBudget ttl' },
  {
    field: 'breaker.enabled',
    unit: 'bool',
    envoy: null,
    istio: null,
    note: "the mesh client's breaker trips for the whole upstream; Envoy's and Istio's nearest kin, outlier detection, is per host and rendered from outlierDetection.*, so no breaker field is rendered",
  },
  {
    field: 'breaker.errorThresholdPct',
    unit: '%',
    envoy: null,
    istio: null,
    note: 'a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.failurePercentageThreshold',
  },
  {
    field: 'breaker.volumeThreshold',
    unit: 'count',
    envoy: null,
    istio: null,
    note: 'a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.failurePercentageRequestVolume',
  },
  {
    field: 'breaker.consecutiveFailures',
    unit: 'count',
    envoy: null,
    istio: null,
    note: "Polly's consecutive-failure breaker; a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.consecutiveGatewayFailure",
  },
  {
    field: 'breaker.openBaseMs',
    unit: 'ms',
    envoy: null,
    istio: null,
    note: 'a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.baseEjectionTimeMs',
  },
  {
    field: 'breaker.resetTimeoutMs',
    unit: 'ms',
    envoy: null,
    istio: null,
    note: 'a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.maxEjectionTimeMs',
  },
  {
    field: 'breaker.rollingWindowMs',
    unit: 'ms',
    envoy: null,
    istio: null,
    note: 'a whole-upstream breaker: no proxy equivalent (see breaker.enabled); per host, outlierDetection.intervalMs',
  },
  {
    field: 'breaker.rollingBuckets',
    unit: 'count',
    envoy: null,
    istio: null,
    note: 'opossum rollingCountBuckets',
  },
  {
    field: 'breaker.slowCallMs',
    unit: 'ms',
    envoy: null,
    istio: null,
    note: 'resilience4j slowCallDurationThreshold; no proxy equivalent',
  },
  {
    field: 'breaker.probe',
    unit: 'path, ms',
    envoy: null,
    istio: null,
    note: 'the active half-open trial; Envoy returns an ejected host after the ejection time without one, and its nearest kin, active health_checks, are not rendered',
  },
  {
    field: 'bulkhead.maxConcurrent',
    unit: 'count',
    envoy: 'cluster.circuit_breakers.thresholds[].max_requests',
    istio: 'DestinationRule.trafficPolicy.connectionPool.http.http2MaxRequests',
  },
  {
    field: 'bulkhead.maxQueue',
    unit: 'count',
    envoy: 'cluster.circuit_breakers.thresholds[].max_pending_requests',
    istio: 'DestinationRule.trafficPolicy.connectionPool.http.http1MaxPendingRequests',
  },
  {
    field: 'pool.connections',
    unit: 'count',
    envoy: 'cluster.circuit_breakers.thresholds[].max_connections',
    istio: 'DestinationRule.trafficPolicy.connectionPool.tcp.maxConnections',
  },
  {
    field: 'pool.connectTimeoutMs',
    unit: 'ms',
    envoy: 'cluster.connect_timeout',
    istio: 'DestinationRule.trafficPolicy.connectionPool.tcp.connectTimeout',
  },
  {
    field: 'pool.keepAliveTimeoutMs',
    unit: 'ms',
    envoy: 'cluster.typed_extension_protocol_options…common_http_protocol_options.idle_timeout',
    istio: 'DestinationRule.trafficPolicy.connectionPool.http.idleTimeout',
  },
  {
    field: 'loadBalancer.policy',
    unit: 'least_request|round_robin|random',
    envoy: 'cluster.lb_policy (LEAST_REQUEST, ROUND_ROBIN, RANDOM)',
    istio: 'DestinationRule.trafficPolicy.loadBalancer.simple (LEAST_REQUEST, ROUND_ROBIN, RANDOM)',
  },
  {
    field: 'loadBalancer.choiceCount',
    unit: 'count',
    envoy: 'cluster.least_request_lb_config.choice_count',
    istio: null,
    note: 'Istio always samples 2 (Envoy default); another number is listed as an approximation',
  },
  {
    field: 'loadBalancer.healthyPanicThreshold',
    unit: '%',
    envoy: 'cluster.common_lb_config.healthy_panic_threshold',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.minHealthPercent',
    note: 'Istio defaults it to 0 (no panic mode), so it is always written',
  },
  {
    field: 'outlierDetection.enabled',
    unit: 'bool',
    envoy: 'cluster.outlier_detection (present or absent)',
    istio: 'DestinationRule.trafficPolicy.outlierDetection (present or absent)',
  },
  {
    field: 'outlierDetection.consecutive5xx',
    unit: 'count',
    envoy: 'cluster.outlier_detection.consecutive_5xx',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.consecutive5xxErrors',
    note: 'Istio writes 0 when enforcingConsecutive5xx is 0',
  },
  {
    field: 'outlierDetection.enforcingConsecutive5xx',
    unit: '%',
    envoy: 'cluster.outlier_detection.enforcing_consecutive_5xx',
    istio: null,
    note: 'Istio enforces a consecutive-5xx detection at 100 % (consecutive5xxErrors > 0) or not at all (0)',
  },
  {
    field: 'outlierDetection.consecutiveGatewayFailure',
    unit: 'count',
    envoy: 'cluster.outlier_detection.consecutive_gateway_failure',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.consecutiveGatewayErrors',
    note: 'Istio: written only when enforcingConsecutiveGatewayFailure > 0 (Istio enforces what it is given at 100 %)',
  },
  {
    field: 'outlierDetection.enforcingConsecutiveGatewayFailure',
    unit: '%',
    envoy: 'cluster.outlier_detection.enforcing_consecutive_gateway_failure',
    istio: null,
    note: 'Istio enforces at 100 % when consecutiveGatewayErrors is set, not at all when it is absent',
  },
  {
    field: 'outlierDetection.failurePercentageThreshold',
    unit: '%',
    envoy: 'cluster.outlier_detection.failure_percentage_threshold',
    istio: null,
    note: 'Istio has no failure-percentage detection; enforcing it is listed as an approximation',
  },
  {
    field: 'outlierDetection.enforcingFailurePercentage',
    unit: '%',
    envoy: 'cluster.outlier_detection.enforcing_failure_percentage',
    istio: null,
    note: 'Istio has no failure-percentage detection (its Envoy default, 0, is also the mesh default)',
  },
  {
    field: 'outlierDetection.failurePercentageRequestVolume',
    unit: 'count',
    envoy: 'cluster.outlier_detection.failure_percentage_request_volume',
    istio: null,
    note: 'Istio has no failure-percentage detection',
  },
  {
    field: 'outlierDetection.failurePercentageMinimumHosts',
    unit: 'count',
    envoy: 'cluster.outlier_detection.failure_percentage_minimum_hosts',
    istio: null,
    note: 'Istio has no failure-percentage detection',
  },
  {
    field: 'outlierDetection.intervalMs',
    unit: 'ms',
    envoy: 'cluster.outlier_detection.interval',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.interval',
  },
  {
    field: 'outlierDetection.baseEjectionTimeMs',
    unit: 'ms',
    envoy: 'cluster.outlier_detection.base_ejection_time',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.baseEjectionTime',
  },
  {
    field: 'outlierDetection.maxEjectionTimeMs',
    unit: 'ms',
    envoy: 'cluster.outlier_detection.max_ejection_time',
    istio: null,
    note: 'Istio has no maxEjectionTime (Envoy default 300 s, the mesh default too); another value is listed as an approximation',
  },
  {
    field: 'outlierDetection.maxEjectionPercent',
    unit: '%',
    envoy: 'cluster.outlier_detection.max_ejection_percent',
    istio: 'DestinationRule.trafficPolicy.outlierDetection.maxEjectionPercent',
    note: "default 50, not Envoy's 10 (mesh/README.md)",
  },
] satisfies PolicyMappingRow[]);
