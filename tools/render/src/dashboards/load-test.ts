/**
 * Load test: k6 results sent by k6's `experimental-prometheus-rw` output to
 * Prometheus' remote-write receiver, next to what the gateway saw.
 *
 * Names follow that output's mapping: counters `k6_*_total`, rates
 * `k6_*_rate`, gauges `k6_*`, and trends one gauge per stat in
 * K6_PROMETHEUS_RW_TREND_STATS (default `p(99)`: `k6_*_p99`, in seconds).
 * Runs are told apart by the test-wide tag `testid` (`k6 run --tag testid=…`).
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { byVar, dashboard, labelVariable, stat, timeseries } from './common.ts';

const tid = byVar('testid');

export function loadTestDashboard() {
  return dashboard(
    'bw-load-test',
    'Breakwater / Load test',
    'k6 metrics (remote write) per test run, next to the gateway traffic they caused.',
    ['k6', 'load'],
  )
    .withVariable(labelVariable('testid', 'testid', 'k6_http_reqs_total', { title: 'test run' }))
    .withRow(new RowBuilder('k6'))
    .withPanel(
      timeseries({
        title: 'Virtual users',
        description: 'Active VUs per test run.',
        queries: [{ expr: `sum by (testid) (k6_vus{${tid}})`, legend: '{{testid}}' }],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Request rate',
        description: 'HTTP requests k6 made per second, per test run.',
        queries: [
          {
            expr: `sum by (testid) (rate(k6_http_reqs_total{${tid}}[$__rate_interval]))`,
            legend: '{{testid}}',
          },
        ],
        unit: 'reqps',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      stat({
        title: 'Failed requests',
        description: 'Share of k6 requests counted as failed (http_req_failed).',
        queries: [{ expr: `avg by (testid) (k6_http_req_failed_rate{${tid}})`, legend: '{{testid}}' }],
        unit: 'percentunit',
        steps: [
          [null, 'green'],
          [0.005, 'orange'],
          [0.05, 'red'],
        ],
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests by name and status',
        description: 'Requests per second by the request name tag and HTTP status.',
        queries: [
          {
            expr: `sum by (name, status) (rate(k6_http_reqs_total{${tid}}[$__rate_interval]))`,
            legend: '{{name}} {{status}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Request duration p99, by name',
        description:
          'http_req_duration p99 as aggregated by k6 (K6_PROMETHEUS_RW_TREND_STATS adds more stats).',
        queries: [{ expr: `max by (name) (k6_http_req_duration_p99{${tid}})`, legend: '{{name}}' }],
        unit: 's',
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Checks passing',
        description: 'Share of k6 checks that passed, per check.',
        queries: [{ expr: `avg by (check) (k6_checks_rate{${tid}})`, legend: '{{check}}' }],
        unit: 'percentunit',
        min: 0,
        max: 1,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Iterations',
        description: 'Completed and dropped iterations per second (dropped: no VU was free to start one).',
        queries: [
          {
            expr: `sum by (testid) (rate(k6_iterations_total{${tid}}[$__rate_interval]))`,
            legend: '{{testid}} completed',
          },
          {
            // k6 creates the dropped-iterations series on the first drop: 0 until then.
            expr: `sum by (testid) (rate(k6_dropped_iterations_total{${tid}}[$__rate_interval])) or 0 * sum by (testid) (rate(k6_iterations_total{${tid}}[$__rate_interval]))`,
            legend: '{{testid}} dropped',
          },
        ],
        unit: 'ops',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Data sent and received',
        description: 'Bytes per second k6 sent and received.',
        queries: [
          { expr: `sum (rate(k6_data_sent_total{${tid}}[$__rate_interval]))`, legend: 'sent' },
          { expr: `sum (rate(k6_data_received_total{${tid}}[$__rate_interval]))`, legend: 'received' },
        ],
        unit: 'Bps',
        min: 0,
        w: 8,
      }),
    )
    .withRow(new RowBuilder('What the platform saw'))
    .withPanel(
      timeseries({
        title: 'Gateway responses by status class',
        description: 'The same period seen from the gateway: answers per second by status class.',
        queries: [
          {
            expr: 'sum by (status_class) (rate(bw_gateway_requests_total[$__rate_interval]))',
            legend: '{{status_class}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Gateway rate-limit decisions',
        description: 'allowed, limited (429), fail_open, fail_closed per second during the run.',
        queries: [
          {
            expr: 'sum by (decision) (rate(bw_gateway_ratelimit_decisions_total[$__rate_interval]))',
            legend: '{{decision}}',
          },
        ],
        unit: 'reqps',
        stacked: true,
      }),
    );
}
