/**
 * Overview: is each service available, and how fast is it spending its
 * error budget? RED (rate, errors, duration) per service and route.
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { byVar, dashboard, labelVariable, stat, timeseries, valueText } from './common.ts';

const REQS = 'bw_http_server_request_duration_seconds_count';
const BUCKETS = 'bw_http_server_request_duration_seconds_bucket';
const svc = byVar('service');

export function overviewDashboard() {
  return dashboard(
    'bw-overview',
    'Breakwater / Overview',
    'Availability SLO (99.5 % of requests without a 5xx) and RED metrics per service and route.',
    ['overview', 'slo'],
  )
    .withVariable(labelVariable('service', 'service', REQS))
    .withRow(new RowBuilder('SLO: availability 99.5 %'))
    .withPanel(
      stat({
        title: 'Availability, last hour',
        description: 'Share of requests answered without a 5xx over the last hour (recorded by slo.yml).',
        queries: [{ expr: `service:bw_slo_availability:ratio_rate1h{${svc}}`, legend: '{{service}}' }],
        unit: 'percentunit',
        steps: [
          [null, 'red'],
          [0.99, 'orange'],
          [0.995, 'green'],
        ],
        w: 12,
      }),
    )
    .withPanel(
      stat({
        title: 'Error budget burn rate, last hour',
        description:
          'How many times faster than allowed the error budget burns (1 = exactly on budget). The fast page fires at 14.4 (with the 5-minute window agreeing), the medium one at 6.',
        queries: [{ expr: `service:bw_slo_burn_rate:rate1h{${svc}}`, legend: '{{service}}' }],
        unit: 'short',
        steps: [
          [null, 'green'],
          [1, 'yellow'],
          [6, 'orange'],
          [14.4, 'red'],
        ],
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Error ratio: 5-minute and 1-hour windows',
        description:
          'The two windows of the fast burn-rate alert. It pages when both exceed 7.2 % (14.4 × the 0.5 % budget).',
        queries: [
          { expr: `service:bw_slo_errors_per_request:ratio_rate5m{${svc}}`, legend: '{{service}} 5m' },
          { expr: `service:bw_slo_errors_per_request:ratio_rate1h{${svc}}`, legend: '{{service}} 1h' },
        ],
        unit: 'percentunit',
        min: 0,
        w: 24,
      }),
    )
    .withRow(new RowBuilder('RED per service'))
    .withPanel(
      timeseries({
        title: 'Request rate',
        description: 'Inbound HTTP requests per second, per service.',
        queries: [
          { expr: `sum by (service) (rate(${REQS}{${svc}}[$__rate_interval]))`, legend: '{{service}}' },
        ],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: '5xx ratio',
        description: 'Share of requests answered with a 5xx, per service (0 when there were none).',
        queries: [
          {
            expr: `(sum by (service) (rate(${REQS}{${svc}, status_class="5xx"}[$__rate_interval])) or 0 * sum by (service) (rate(${REQS}{${svc}}[$__rate_interval]))) / sum by (service) (rate(${REQS}{${svc}}[$__rate_interval]))`,
            legend: '{{service}}',
          },
        ],
        unit: 'percentunit',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Latency p50 and p99',
        description:
          'Request duration percentiles per service. Exemplars link a slow request to its trace id.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (service, le) (rate(${BUCKETS}{${svc}}[$__rate_interval])))`,
            legend: '{{service}} p99',
            exemplars: true,
          },
          {
            expr: `histogram_quantile(0.50, sum by (service, le) (rate(${BUCKETS}{${svc}}[$__rate_interval])))`,
            legend: '{{service}} p50',
          },
        ],
        unit: 's',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Responses by status class',
        description: 'Answers per second by status class (2xx … 5xx), per service.',
        queries: [
          {
            expr: `sum by (service, status_class) (rate(${REQS}{${svc}}[$__rate_interval]))`,
            legend: '{{service}} {{status_class}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
        w: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests in flight',
        description: 'Inbound requests being handled right now, per service.',
        queries: [
          { expr: `sum by (service) (bw_http_server_in_flight_requests{${svc}})`, legend: '{{service}}' },
        ],
        unit: 'short',
        min: 0,
        w: 6,
      }),
    )
    .withPanel(
      stat({
        title: 'Processes up',
        description: 'Whether Prometheus can scrape each process (1 up, 0 down).',
        queries: [{ expr: 'up', legend: '{{job}} {{instance}}' }],
        steps: [
          [null, 'red'],
          [1, 'green'],
        ],
        mappings: valueText([
          [0, 'down', 'red'],
          [1, 'up', 'green'],
        ]),
        w: 6,
        h: 8,
      }),
    )
    .withRow(new RowBuilder('Per route'))
    .withPanel(
      timeseries({
        title: 'Request rate by route',
        description: 'Inbound requests per second by route template and method.',
        queries: [
          {
            expr: `sum by (service, method, route) (rate(${REQS}{${svc}}[$__rate_interval]))`,
            legend: '{{service}} {{method}} {{route}}',
          },
        ],
        unit: 'reqps',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Latency p99 by route',
        description: 'The 99th percentile of request duration by route template.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (service, route, le) (rate(${BUCKETS}{${svc}}[$__rate_interval])))`,
            legend: '{{service}} {{route}}',
            exemplars: true,
          },
        ],
        unit: 's',
        min: 0,
      }),
    );
}
