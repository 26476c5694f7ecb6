/**
 * Gateway: the edge per route and consumer — traffic, rate-limit decisions
 * (429s, fail-open when Redis is gone), the limits in force and the time
 * spent waiting on upstream services.
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { byVar, dashboard, labelVariable, table, timeseries } from './common.ts';

const REQS = 'bw_gateway_requests_total';
const DECISIONS = 'bw_gateway_ratelimit_decisions_total';
const sel = `${byVar('route')}, ${byVar('consumer')}`;

export function gatewayDashboard() {
  return dashboard(
    'bw-gateway',
    'Breakwater / Gateway',
    'Edge traffic per route and consumer, rate limiting (429, fail-open), current limits, upstream latency.',
    ['gateway', 'ratelimit'],
  )
    .withVariable(labelVariable('route', 'route', REQS))
    .withVariable(labelVariable('consumer', 'consumer', REQS))
    .withRow(new RowBuilder('Traffic'))
    .withPanel(
      timeseries({
        title: 'Requests by route',
        description: 'Requests answered by the gateway per second, per route.',
        queries: [{ expr: `sum by (route) (rate(${REQS}{${sel}}[$__rate_interval]))`, legend: '{{route}}' }],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests by consumer',
        description: 'Requests answered per second, per consumer (API key or JWT subject).',
        queries: [
          { expr: `sum by (consumer) (rate(${REQS}{${sel}}[$__rate_interval]))`, legend: '{{consumer}}' },
        ],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Responses by status class',
        description: 'Answers per second by status class; 4xx includes the 429s of the rate limiter.',
        queries: [
          {
            expr: `sum by (status_class) (rate(${REQS}{${sel}}[$__rate_interval]))`,
            legend: '{{status_class}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
        w: 8,
      }),
    )
    .withRow(new RowBuilder('Rate limiting'))
    .withPanel(
      timeseries({
        title: '429 rate limited, by route and consumer',
        description: 'Requests rejected by the rate limiter per second.',
        queries: [
          {
            expr: `sum by (route, consumer) (rate(${DECISIONS}{${sel}, decision="limited"}[$__rate_interval]))`,
            legend: '{{route}} {{consumer}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Rate-limit decisions',
        description:
          'allowed, limited, fail_open (Redis unreachable: the local limiter decided) and fail_closed, per second.',
        queries: [
          {
            expr: `sum by (decision) (rate(${DECISIONS}{${sel}}[$__rate_interval]))`,
            legend: '{{decision}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Fail-open and fail-closed decisions, by route and consumer',
        description: 'Decisions taken without the shared store (Redis): non-zero means Redis is unreachable.',
        queries: [
          {
            expr: `sum by (route, consumer, decision) (rate(${DECISIONS}{${sel}, decision=~"fail_open|fail_closed"}[$__rate_interval]))`,
            legend: '{{route}} {{consumer}}: {{decision}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withPanel(
      table({
        title: 'Limits in force',
        description: 'The configured limit (requests per window) per route, consumer and window.',
        queries: [
          {
            expr: `max by (route, consumer, window) (bw_gateway_ratelimit_limit{${sel}})`,
            legend: '{{route}} {{consumer}} {{window}}',
          },
        ],
      }),
    )
    .withRow(new RowBuilder('Upstreams'))
    .withPanel(
      timeseries({
        title: 'Upstream latency p50 and p99, by route',
        description: 'Time the gateway waited on the upstream service; exemplars carry trace ids.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (route, le) (rate(bw_gateway_upstream_duration_seconds_bucket{${byVar('route')}}[$__rate_interval])))`,
            legend: '{{route}} p99',
            exemplars: true,
          },
          {
            expr: `histogram_quantile(0.50, sum by (route, le) (rate(bw_gateway_upstream_duration_seconds_bucket{${byVar('route')}}[$__rate_interval])))`,
            legend: '{{route}} p50',
          },
        ],
        unit: 's',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Upstream answers by status class',
        description: 'What the upstream services answered the gateway, per route and upstream.',
        queries: [
          {
            expr: `sum by (route, upstream, status_class) (rate(bw_gateway_upstream_duration_seconds_count{${byVar('route')}}[$__rate_interval]))`,
            legend: '{{route}} → {{upstream}}: {{status_class}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Gateway latency p99 (end to end), by route',
        description: 'Inbound request duration measured by the gateway, from first byte in to last byte out.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (route, le) (rate(bw_http_server_request_duration_seconds_bucket{service="gateway", ${byVar('route')}}[$__rate_interval])))`,
            legend: '{{route}}',
            exemplars: true,
          },
        ],
        unit: 's',
        min: 0,
        w: 24,
      }),
    );
}
