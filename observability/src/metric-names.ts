/**
 * Breakwater's metric catalogue: every metric name, its type, unit and label
 * set, written down once. Code registers metrics only through these entries
 * (see `metrics.ts`), Prometheus rules and Grafana dashboards query only these
 * names, and a test lists any name a rule or dashboard uses that no entry
 * declares.
 *
 * Conventions (Prometheus naming): the `bw_` namespace, base units
 * (`_seconds`, `_bytes`), counters end in `_total`, and labels stay
 * low-cardinality: `service` (set as a default label by the registry),
 * `route` (a route template, never a raw path), `method`, `status_class`
 * (`2xx`…`5xx`), `upstream`, `consumer`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
}

const spec = <const L extends readonly string[]>(
  name: string,
  type: MetricType,
  help: string,
  labels: L,
): MetricSpec & { labels: L } => ({ name, type, help, labels });

/** Outcome of one client call through the mesh, as seen by the caller. */
export const CALL_OUTCOMES = [
  'success',
  'upstream_4xx',
  'upstream_5xx',
  'timeout',
  'deadline',
  'breaker_open',
  'bulkhead_full',
  'budget_exhausted',
  'connect_error',
  'aborted',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export const METRICS = {
  // --- HTTP servers (mesh server kit, gateway) -----------------------------
  httpServerDuration: spec(
    'bw_http_server_request_duration_seconds',
    'histogram',
    'Duration of inbound HTTP requests, by route template.',
    ['method', 'route', 'status_class'],
  ),
  httpServerInFlight: spec(
    'bw_http_server_in_flight_requests',
    'gauge',
    'Inbound HTTP requests in flight.',
    [],
  ),
  // --- identity and authorization (mesh/src/identity) ----------------------
  authzDenied: spec(
    'bw_authz_denied_total',
    'counter',
    "Inbound calls refused by the server's mTLS authorization, by caller identity (the ServiceAccount of its SPIFFE id; `none` without a certificate, `untrusted` for one this mesh's CA did not issue or that expired) and the destination service.",
    ['source', 'destination'],
  ),
  certificateExpiry: spec(
    'bw_certificate_expiry_timestamp_seconds',
    'gauge',
    "When this process's workload certificate expires, Unix time in seconds (it rotates at half-life; an alert fires when one is close to expiry unrotated).",
    ['identity'],
  ),
  certificateIssued: spec(
    'bw_certificate_issued_timestamp_seconds',
    'gauge',
    "Start of validity (notBefore) of this process's workload certificate, Unix time in seconds: with the expiry, the certificate's lifetime.",
    ['identity'],
  ),

  // --- mesh client (one set per upstream) ----------------------------------
  upstreamDuration: spec(
    'bw_upstream_request_duration_seconds',
    'histogram',
    'Duration of a whole outbound call (every try and backoff), by outcome.',
    ['upstream', 'method', 'route', 'outcome'],
  ),
  upstreamTries: spec(
    'bw_upstream_tries_total',
    'counter',
    'Tries sent to an upstream (first tries and retries).',
    ['upstream', 'kind'], // kind: first | retry
  ),
  upstreamRetries: spec(
    'bw_upstream_retries_total',
    'counter',
    'Retries by what the try before failed with (cause: status_<code>, per_try_timeout, connect_failure, reset — Envoy\'s retry_on words); they sum to bw_upstream_tries_total{kind="retry"}.',
    ['upstream', 'cause'],
  ),
  upstreamBudgetExhausted: spec(
    'bw_upstream_retry_budget_exhausted_total',
    'counter',
    'Retries refused because the retry budget was spent.',
    ['upstream'],
  ),
  upstreamBulkheadRejected: spec(
    'bw_upstream_bulkhead_rejected_total',
    'counter',
    'Calls rejected at once because the bulkhead and its queue were full.',
    ['upstream'],
  ),
  upstreamBulkheadInUse: spec('bw_upstream_bulkhead_in_use', 'gauge', 'Calls holding a bulkhead slot.', [
    'upstream',
  ]),
  upstreamTimeouts: spec(
    'bw_upstream_timeouts_total',
    'counter',
    'Tries cut by the per-try timeout (kind=try) or calls cut by the overall deadline (kind=deadline).',
    ['upstream', 'kind'],
  ),
  breakerState: spec(
    'bw_breaker_state',
    'gauge',
    'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.',
    ['upstream'],
  ),
  breakerStateSince: spec(
    'bw_breaker_state_since_seconds',
    'gauge',
    'When the breaker entered its current state (bw_breaker_state), Unix time in seconds: a drill reads breaker_recovery_ms as the close time minus the fault end.',
    ['upstream'],
  ),
  upstreamEjections: spec(
    'bw_upstream_ejections_total',
    'counter',
    "Endpoints ejected by the mesh client's outlier detection (Envoy's outlier_detection.ejections_enforced_total), by the detector that ejected (consecutive_5xx, consecutive_gateway_failure, failure_percentage).",
    ['upstream', 'endpoint', 'type'],
  ),
  upstreamEjectionsActive: spec(
    'bw_upstream_ejections_active',
    'gauge',
    "Endpoints of an upstream ejected now (Envoy's outlier_detection.ejections_active).",
    ['upstream'],
  ),
  upstreamEndpointsHealthy: spec(
    'bw_upstream_endpoints_healthy',
    'gauge',
    'Endpoints of an upstream that are ready and not ejected; below the panic threshold the client sends to every ready endpoint.',
    ['upstream'],
  ),
  breakerTransitions: spec(
    'bw_breaker_transitions_total',
    'counter',
    'Circuit breaker state transitions, by the state entered.',
    ['upstream', 'to'],
  ),

  // --- fault filter ----------------------------------------------------------
  faultsInjected: spec(
    'bw_fault_injected_total',
    'counter',
    'Requests on which the fault filter injected a delay or an abort.',
    ['route', 'kind'], // kind: delay | abort
  ),

  // --- gateway ---------------------------------------------------------------
  gatewayRequests: spec(
    'bw_gateway_requests_total',
    'counter',
    'Requests answered by the gateway, by route, consumer and status class.',
    ['route', 'consumer', 'status_class'],
  ),
  gatewayRateLimitDecisions: spec(
    'bw_gateway_ratelimit_decisions_total',
    'counter',
    'Rate-limit decisions: allowed, limited, fail_open (Redis unreachable, local limiter used), fail_closed.',
    ['route', 'consumer', 'decision'],
  ),
  gatewayRateLimitLimit: spec(
    'bw_gateway_ratelimit_limit',
    'gauge',
    'The configured limit (requests per window) in force.',
    ['route', 'consumer', 'window'],
  ),
  gatewayStaleAnswers: spec(
    'bw_gateway_stale_answers_total',
    'counter',
    'Answers served from the last good copy because the upstream failed (stale-if-error), by route and reason: breaker-open, upstream-timeout, upstream-overloaded, upstream-unreachable, upstream-status.',
    ['route', 'reason'],
  ),
  gatewayUpstreamDuration: spec(
    'bw_gateway_upstream_duration_seconds',
    'histogram',
    'Time the gateway waited on the upstream service, by route.',
    ['route', 'upstream', 'status_class'],
  ),

  // --- data and cache --------------------------------------------------------
  cacheRequests: spec(
    'bw_cache_requests_total',
    'counter',
    'Cache look-ups: hit, miss, stale (served stale because the source was down), error.',
    ['cache', 'result'],
  ),

  // --- events: outbox and Redis Streams -------------------------------------
  outboxBacklog: spec('bw_outbox_backlog', 'gauge', 'Outbox rows not yet published.', []),
  outboxPublished: spec('bw_outbox_published_total', 'counter', 'Outbox rows published to a stream.', [
    'stream',
  ]),
  streamLag: spec('bw_stream_lag', 'gauge', 'Entries in a stream not yet delivered to a consumer group.', [
    'stream',
    'group',
  ]),
  streamPending: spec(
    'bw_stream_pending',
    'gauge',
    'Entries delivered to a consumer group and not yet acknowledged.',
    ['stream', 'group'],
  ),
  eventsProcessed: spec(
    'bw_events_processed_total',
    'counter',
    'Events handled by a consumer, by type and outcome (ok, retry, dead_letter, duplicate).',
    ['stream', 'group', 'type', 'outcome'],
  ),
  deadLetters: spec(
    'bw_stream_dead_letters_total',
    'counter',
    'Events moved to a dead-letter stream, by reason.',
    ['stream', 'group', 'reason'],
  ),
  eventsReclaimed: spec(
    'bw_stream_reclaimed_total',
    'counter',
    'Pending entries reclaimed from a dead or slow consumer (XAUTOCLAIM).',
    ['stream', 'group'],
  ),

  // --- telemetry itself -------------------------------------------------------
  traceSpansDropped: spec(
    'bw_trace_spans_dropped_total',
    'counter',
    'Sampled spans that never reached the trace backend: queue_full (the export queue was full), export_failed (the backend refused, hung or was down).',
    ['reason'],
  ),

  // --- drills ------------------------------------------------------------------
  drillFaultActive: spec(
    'bw_drill_fault_active',
    'gauge',
    'Set to 1 while a drill injects a fault (kill, pause, latency, errors, cut), 0 after; dashboards shade these windows.',
    ['drill', 'fault', 'target'],
  ),
} as const;

export type MetricKey = keyof typeof METRICS;

/** Every metric name Breakwater exports (plus prom-client's default process metrics). */
export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);
