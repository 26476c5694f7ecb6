/**
 * retry-storm: catalog's fault filter fails 50 % of its requests (503) for
 * the fault phase.
 *
 * Hypothesis: the load catalog receives stays within the retry budget — the
 * runner compares the tries catalog counted (its own
 * bw_http_server_request_duration_seconds counts, read before and after the
 * fault) with the requests offered to it and what the callers' budgets allow
 * (see local/src/drill/derived-checks.ts); no request hangs (p99 under the
 * route deadline); reads are fine before and after.
 */

import http from 'k6/http';
import type { Options } from 'k6/options';
import { env } from '../lib/config.ts';
import { shopApi } from '../lib/shop-api.ts';
import {
  catalogReceived,
  drillOptions,
  drillThresholds,
  elapsedMs,
  faultWindowMs,
  type Hypothesis,
  raiseLimits,
  rate,
  runSchedule,
  schedule,
  steadyTraffic,
  totalMs,
  undoAll,
  usePhaseSchedule,
  withServed,
} from './lib/drill.ts';
import { drillJourney, readsHold, requireSteadyState } from './lib/traffic.ts';

const s = schedule(
  { steady: '20s', fault: '30s', recovery: '30s' },
  { steady: '10s', fault: '20s', recovery: '15s' },
);
usePhaseSchedule(s);

const hypotheses: Hypothesis[] = [
  ...(['catalog_list', 'catalog_product'] as const).flatMap((route): Hypothesis[] => [
    { metric: 'served', phase: 'steady', route, threshold: 'rate>=0.995' },
    { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(99)<2100' },
  ]),
  { metric: 'http_req_duration', phase: 'fault', route: 'orders_create', threshold: 'p(99)<5100' },
];

export const options: Options = drillOptions({
  schedule: s,
  traffic: { shop: steadyTraffic('shop', rate(10), s) },
  thresholds: {
    ...drillThresholds(hypotheses, ['catalog_list', 'catalog_product', 'orders_create']),
    catalog_received: ['count>=0'],
    fault_window_ms: ['count>=0'],
    time_to_recover: ['max<15000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

/** Requests catalog's server has counted so far (every route, every status). */
function catalogCount(): number {
  const url = env('CATALOG_URL');
  if (url === undefined) throw new Error('CATALOG_URL is not set (the runner passes catalog’s URL)');
  const res = http.get(`${url}/metrics`, { tags: { route: 'probe', name: 'probe' } });
  let n = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('bw_http_server_request_duration_seconds_count')) n += Number(line.split(' ').pop());
  }
  return n;
}

export function setup(): void {
  requireSteadyState(
    ['catalog', 'orders', 'gateway-1', 'gateway-2'],
    () => readsHold(5, 1_000),
    () => raiseLimits(totalMs(s) + 120_000),
  );
}

export function chaos(): void {
  let before = 0;
  let at = 0;
  runSchedule(
    s,
    [
      {
        fault: {
          name: 'abort-50pct',
          spec: {
            kind: 'mesh',
            target: 'catalog',
            rules: [{ id: 'drill-abort', match: { pathPrefix: '/' }, abort: { percent: 50, status: 503 } }],
          },
        },
      },
    ],
    () => readsHold(10, 1_000),
    {
      afterInject: () => {
        before = catalogCount();
        at = elapsedMs();
      },
      beforeUndo: () => {
        catalogReceived.add(catalogCount() - before);
        faultWindowMs.add(elapsedMs() - at);
      },
    },
  );
}

export function shop(): void {
  drillJourney(api);
}

export function teardown(): void {
  undoAll();
}
