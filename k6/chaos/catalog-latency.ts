/**
 * catalog-latency: every catalog request is delayed by 2 s in catalog's mesh
 * fault filter for the fault phase.
 *
 * Hypothesis: callers answer within their deadline — catalog routes through
 * the gateway (per-try 800 ms, deadline 2 s) p99 < 2.1 s, orders (gateway
 * deadline 5 s) p99 < 5.1 s; no request hangs; the breakers open, so most
 * answers are fast (p50 < 300 ms) and the fast 503s carry Retry-After (the
 * contract checks hold); after the fault catalog reads are fast again.
 */

import type { Options } from 'k6/options';
import { shopApi } from '../lib/shop-api.ts';
import {
  drillOptions,
  drillThresholds,
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

const catalogRoutes = ['catalog_list', 'catalog_product'] as const;
const hypotheses: Hypothesis[] = [
  ...catalogRoutes.flatMap((route): Hypothesis[] => [
    { metric: 'served', phase: 'steady', route, threshold: 'rate>=0.995' },
    { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(99)<2100' },
    { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(50)<300' },
    { metric: 'checks', phase: 'fault', route, threshold: 'rate>=0.99' },
  ]),
  {
    metric: 'degraded',
    phase: 'fault',
    route: 'catalog_product',
    tags: { reason: 'unavailable' },
    threshold: 'count>0',
  },
  { metric: 'served', phase: 'steady', route: 'orders_create', threshold: 'rate>=0.99' },
  { metric: 'http_req_duration', phase: 'fault', route: 'orders_create', threshold: 'p(99)<5100' },
];

export const options: Options = drillOptions({
  schedule: s,
  traffic: { shop: steadyTraffic('shop', rate(6), s) },
  thresholds: {
    ...drillThresholds(hypotheses, ['catalog_list', 'catalog_product', 'orders_create']),
    time_to_recover: ['max<15000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

export function setup(): void {
  requireSteadyState(
    ['catalog', 'orders', 'gateway-1', 'gateway-2'],
    () => readsHold(5, 500),
    () => raiseLimits(totalMs(s) + 120_000),
  );
}

export function chaos(): void {
  runSchedule(
    s,
    [
      {
        fault: {
          name: 'latency-2s',
          spec: {
            kind: 'mesh',
            target: 'catalog',
            rules: [{ id: 'drill-latency', match: { pathPrefix: '/' }, delay: { percent: 100, ms: 2_000 } }],
          },
        },
      },
    ],
    () => readsHold(5, 500),
  );
}

export function shop(): void {
  drillJourney(api);
}

export function teardown(): void {
  undoAll();
}
