/**
 * Resilience: what the mesh client does per upstream — breaker state over
 * time, endpoints healthy and ejected and the requests each instance serves,
 * retries and the retry budget, bulkhead and timeout outcomes, the calls
 * mTLS authorization denied and how long each identity's certificate has
 * left — and what the fault filter injected.
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { byVar, dashboard, labelVariable, stateTimeline, timeseries, valueText } from './common.ts';

const CALLS = 'bw_upstream_request_duration_seconds_count';
const sel = `${byVar('service')}, ${byVar('upstream')}`;
const rate = (metric: string, extra = '') =>
  `rate(${metric}{${sel}${extra ? `, ${extra}` : ''}}[$__rate_interval])`;

/** An upstream counter per second, by caller → upstream and `kind` (first/retry, try/deadline). */
const perKind = (title: string, description: string, metric: string, label = 'kind') =>
  timeseries({
    title,
    description,
    queries: [
      {
        expr: `sum by (service, upstream, ${label}) (${rate(metric)})`,
        legend: `{{service}} → {{upstream}}: {{${label}}}`,
      },
    ],
    unit: 'reqps',
    min: 0,
    w: 8,
  });

export function resilienceDashboard() {
  return dashboard(
    'bw-resilience',
    'Breakwater / Resilience',
    'Per upstream: circuit breaker state, call outcomes, endpoints and outlier ejections, requests per instance, retries and the retry budget, bulkheads, timeouts, denied calls and certificate expiry (mTLS), injected faults.',
    ['resilience', 'mesh'],
  )
    .withVariable(labelVariable('service', 'service', CALLS, { title: 'caller' }))
    .withVariable(labelVariable('upstream', 'upstream', CALLS, { matchers: byVar('service') }))
    .withRow(new RowBuilder('Circuit breakers'))
    .withPanel(
      stateTimeline({
        title: 'Breaker state',
        description:
          'Closed (calls flow), half-open (probing), open (calls short-circuited to the fallback).',
        queries: [
          {
            expr: `max by (service, upstream) (bw_breaker_state{${sel}})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        mappings: valueText([
          [0, 'closed', 'green'],
          [1, 'half-open', 'yellow'],
          [2, 'open', 'red'],
        ]),
        steps: [
          [null, 'green'],
          [1, 'yellow'],
          [2, 'red'],
        ],
        w: 24,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Breaker transitions',
        description: 'State changes per interval, by the state entered.',
        queries: [
          {
            expr: `sum by (service, upstream, to) (increase(bw_breaker_transitions_total{${sel}}[$__rate_interval]))`,
            legend: '{{service}} → {{upstream}}: {{to}}',
          },
        ],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Call outcomes',
        description:
          'Whole calls per second by outcome: success, upstream 4xx/5xx, timeout, deadline, breaker_open, bulkhead_full, budget_exhausted, connect_error, aborted.',
        queries: [
          {
            expr: `sum by (service, upstream, outcome) (${rate(CALLS)})`,
            legend: '{{service}} → {{upstream}}: {{outcome}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withRow(new RowBuilder('Endpoints and outlier detection'))
    .withPanel(
      timeseries({
        title: 'Endpoints healthy',
        description:
          "Endpoints of each upstream that are ready and not ejected, as its callers see them (the lowest view among a caller's instances). Below loadBalancer.healthyPanicThreshold % of the ready ones, the client ignores ejections (panic). Only upstreams with several endpoints (replicas, discovery) have one.",
        queries: [
          {
            expr: `min by (service, upstream) (bw_upstream_endpoints_healthy{${sel}})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Endpoints ejected',
        description:
          "Endpoints ejected now by outlier detection (Envoy's ejections_active), the highest view among a caller's instances.",
        queries: [
          {
            expr: `max by (service, upstream) (bw_upstream_ejections_active{${sel}})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Ejections by endpoint',
        description:
          'Ejections per interval, by the endpoint ejected and the detector that ejected it (consecutive_5xx, consecutive_gateway_failure, failure_percentage).',
        queries: [
          {
            expr: `sum by (service, upstream, endpoint, type) (increase(bw_upstream_ejections_total{${sel}}[$__rate_interval]))`,
            legend: '{{service}} → {{endpoint}}: {{type}}',
          },
        ],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests per instance',
        description:
          "Requests each instance of the selected upstreams served per second (its own server metrics, told apart by Prometheus' instance label): balancing spreads them, an ejected or draining instance drops out.",
        queries: [
          {
            expr: `sum by (service, instance) (rate(bw_http_server_request_duration_seconds_count{${byVar('service', 'upstream')}}[$__rate_interval]))`,
            legend: '{{instance}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Errors per instance',
        description:
          'Server errors (5xx) each instance of the selected upstreams answered per second: one bad instance among several stands out here before its ejection.',
        queries: [
          {
            expr: `sum by (service, instance) (rate(bw_http_server_request_duration_seconds_count{${byVar('service', 'upstream')}, status_class="5xx"}[$__rate_interval]))`,
            legend: '{{instance}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withRow(new RowBuilder('Retries'))
    .withPanel(
      perKind(
        'Tries: first and retry',
        'Tries sent per second; retries only where they are safe.',
        'bw_upstream_tries_total',
      ),
    )
    .withPanel(
      perKind(
        'Retries by cause',
        "What the try before each retry failed with: a status the policy retries (status_503), per_try_timeout (a slow instance), connect_failure or reset (an instance that left or crashed — a rollout's drain should keep these at 0).",
        'bw_upstream_retries_total',
        'cause',
      ),
    )
    .withPanel(
      timeseries({
        title: 'Retry ratio',
        description: 'Retries as a share of all tries (0 when nothing was retried).',
        queries: [
          {
            expr: `(sum by (service, upstream) (${rate('bw_upstream_tries_total', 'kind="retry"')}) or 0 * sum by (service, upstream) (${rate('bw_upstream_tries_total')})) / sum by (service, upstream) (${rate('bw_upstream_tries_total')})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        unit: 'percentunit',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Retries refused by the budget',
        description: 'Retries not sent because the retry budget was spent (so retries cannot storm).',
        queries: [
          {
            expr: `sum by (service, upstream) (${rate('bw_upstream_retry_budget_exhausted_total')})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withRow(new RowBuilder('Bulkheads and timeouts'))
    .withPanel(
      timeseries({
        title: 'Bulkhead slots in use',
        description: 'Concurrent calls holding a bulkhead slot, per upstream.',
        queries: [
          {
            expr: `sum by (service, upstream) (bw_upstream_bulkhead_in_use{${sel}})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Bulkhead rejections',
        description: 'Calls rejected at once because the bulkhead and its queue were full.',
        queries: [
          {
            expr: `sum by (service, upstream) (${rate('bw_upstream_bulkhead_rejected_total')})`,
            legend: '{{service}} → {{upstream}}',
          },
        ],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      perKind(
        'Timeouts: per try and deadline',
        'Tries cut by the per-try timeout (try) and calls cut by the overall deadline (deadline).',
        'bw_upstream_timeouts_total',
      ),
    )
    .withPanel(
      timeseries({
        title: 'Upstream latency p99',
        description: 'Whole-call duration (every try and backoff) per upstream; exemplars carry trace ids.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (service, upstream, le) (rate(bw_upstream_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`,
            legend: '{{service}} → {{upstream}}',
            exemplars: true,
          },
        ],
        unit: 's',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Cache look-ups',
        description: 'Cache hits, misses, stale answers (served while the source is down) and errors.',
        queries: [
          {
            expr: `sum by (service, cache, result) (rate(bw_cache_requests_total{${byVar('service')}}[$__rate_interval]))`,
            legend: '{{service}} {{cache}}: {{result}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withRow(new RowBuilder('Identity and authorization (mTLS)'))
    .withPanel(
      timeseries({
        title: 'Denied calls, by source and destination',
        description:
          "Inbound calls a server refused per second, by the caller's identity (its ServiceAccount; none: no certificate, untrusted: another CA's or an expired one) and the destination service. mesh/policy.yaml decides; anything here is an intruder, a missing edge or an expired certificate.",
        queries: [
          {
            expr: 'sum by (source, destination) (rate(bw_authz_denied_total[$__rate_interval]))',
            legend: '{{source}} → {{destination}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Certificate expiry, per identity',
        description:
          "Time left on each identity's workload certificate (the soonest among its processes). It renews at half-life, so this saws between the lifetime and half of it; a line falling towards 0 is a certificate the CA did not renew (BwCertificateNotRotated fires at a quarter left).",
        queries: [
          {
            expr: 'min by (identity) (bw_certificate_expiry_timestamp_seconds - time())',
            legend: '{{identity}}',
          },
        ],
        unit: 's',
      }),
    )
    .withRow(new RowBuilder('Injected faults'))
    .withPanel(
      timeseries({
        title: 'Faults injected by the fault filter',
        description: 'Requests delayed or aborted by the mesh fault filter, per service and route.',
        queries: [
          {
            expr: 'sum by (service, route, kind) (rate(bw_fault_injected_total[$__rate_interval]))',
            legend: '{{service}} {{route}}: {{kind}}',
          },
        ],
        unit: 'reqps',
        min: 0,
        w: 24,
      }),
    );
}
