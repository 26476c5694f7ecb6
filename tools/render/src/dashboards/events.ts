/**
 * Events: the asynchronous half of the order saga — the outbox relay and the
 * Redis Streams consumer groups (lag, pending entries, outcomes, dead letters).
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { byVar, dashboard, labelVariable, stat, timeseries } from './common.ts';

const sel = `${byVar('stream')}, ${byVar('group')}`;

export function eventsDashboard() {
  return dashboard(
    'bw-events',
    'Breakwater / Events',
    'Redis Streams consumer groups (lag, pending, outcomes, dead letters, reclaims) and the outbox relay.',
    ['events', 'streams', 'outbox'],
  )
    .withVariable(labelVariable('stream', 'stream', 'bw_stream_lag'))
    .withVariable(labelVariable('group', 'group', 'bw_stream_lag', { matchers: byVar('stream') }))
    .withRow(new RowBuilder('Consumer groups'))
    .withPanel(
      timeseries({
        title: 'Stream lag',
        description: 'Entries not yet delivered to each consumer group.',
        queries: [
          { expr: `max by (stream, group) (bw_stream_lag{${sel}})`, legend: '{{stream}} / {{group}}' },
        ],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Pending entries',
        description: 'Entries delivered to a consumer group and not yet acknowledged.',
        queries: [
          { expr: `max by (stream, group) (bw_stream_pending{${sel}})`, legend: '{{stream}} / {{group}}' },
        ],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Events handled, by outcome',
        description: 'Events per second by outcome: ok, retry, dead_letter, duplicate (an idempotent no-op).',
        queries: [
          {
            expr: `sum by (stream, group, outcome) (rate(bw_events_processed_total{${sel}}[$__rate_interval]))`,
            legend: '{{stream}} / {{group}}: {{outcome}}',
          },
        ],
        unit: 'ops',
        stacked: true,
        w: 24,
      }),
    )
    .withRow(new RowBuilder('Dead letters and reclaims'))
    .withPanel(
      timeseries({
        title: 'Dead letters',
        description: 'Events moved to the dead-letter stream per interval, by reason.',
        queries: [
          {
            expr: `sum by (stream, group, reason) (increase(bw_stream_dead_letters_total{${sel}}[$__rate_interval]))`,
            legend: '{{stream}} / {{group}}: {{reason}}',
          },
        ],
        min: 0,
        w: 9,
      }),
    )
    .withPanel(
      stat({
        title: 'Dead letters since start',
        description: 'Events in dead-letter streams, per source stream, since the consumers started.',
        queries: [{ expr: `sum by (stream) (bw_stream_dead_letters_total{${sel}})`, legend: '{{stream}}' }],
        steps: [
          [null, 'green'],
          [1, 'red'],
        ],
        w: 6,
        h: 8,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Reclaimed entries',
        description: 'Pending entries taken over from a dead or slow consumer (XAUTOCLAIM), per second.',
        queries: [
          {
            expr: `sum by (stream, group) (rate(bw_stream_reclaimed_total{${sel}}[$__rate_interval]))`,
            legend: '{{stream}} / {{group}}',
          },
        ],
        unit: 'ops',
        min: 0,
        w: 9,
      }),
    )
    .withRow(new RowBuilder('Outbox'))
    .withPanel(
      timeseries({
        title: 'Outbox backlog',
        description: 'Outbox rows written with their business change and not yet published, per service.',
        queries: [{ expr: 'max by (service) (bw_outbox_backlog)', legend: '{{service}}' }],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Outbox rows published',
        description: 'Rows the relay published to a stream per second.',
        queries: [
          {
            expr: `sum by (service, stream) (rate(bw_outbox_published_total{${byVar('stream')}}[$__rate_interval]))`,
            legend: '{{service}} → {{stream}}',
          },
        ],
        unit: 'ops',
        min: 0,
      }),
    );
}
