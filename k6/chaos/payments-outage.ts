/**
 * payments-outage: payments is killed (SIGKILL, after a 1.5 s pause so it
 * dies holding delivered, unacknowledged events) for the fault phase, then
 * started again.
 *
 * Hypothesis: catalog reads stay ≥ 99.5 % served in every phase; orders are
 * still accepted (202) ≥ 99 % while payments is down; after the restart a new
 * order completes again (time to recover), and — checked by the runner in the
 * databases — every accepted order reaches a final state, none charged twice.
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
import { drillJourney, orderCompletes, readsHold, requireSteadyState } from './lib/traffic.ts';

const s = schedule(
  { steady: '20s', fault: '30s', recovery: '30s' },
  { steady: '10s', fault: '15s', recovery: '20s' },
);
usePhaseSchedule(s);

const hypotheses: Hypothesis[] = [
  ...(['steady', 'fault', 'recovery'] as const).flatMap((phase): Hypothesis[] => [
    { metric: 'served', phase, route: 'catalog_list', threshold: 'rate>=0.995' },
    { metric: 'served', phase, route: 'catalog_product', threshold: 'rate>=0.995' },
    { metric: 'served', phase, route: 'orders_create', threshold: 'rate>=0.99' },
  ]),
  { metric: 'http_req_duration', phase: 'fault', route: 'catalog_product', threshold: 'p(99)<1000' },
];

export const options: Options = drillOptions({
  schedule: s,
  traffic: { shop: steadyTraffic('shop', rate(6), s) },
  thresholds: {
    ...drillThresholds(hypotheses, ['catalog_list', 'catalog_product', 'orders_create', 'orders_get']),
    time_to_recover: ['max<15000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

export function setup(): void {
  requireSteadyState(
    ['catalog', 'orders', 'payments', 'gateway-1', 'gateway-2'],
    () => readsHold(5) && orderCompletes(5_000),
    () => raiseLimits(totalMs(s) + 120_000),
  );
}

export function chaos(): void {
  runSchedule(
    s,
    [
      // A short pause first: payments' blocked read still gets entries delivered, so it dies
      // mid-flight holding unacknowledged work that the restarted process must reclaim.
      { fault: { name: 'pause', spec: { kind: 'process', target: 'payments', action: 'pause' } } },
      { atMs: 1_500, fault: { name: 'kill', spec: { kind: 'process', target: 'payments', action: 'kill' } } },
    ],
    () => orderCompletes(2_000),
  );
}

export function shop(): void {
  const orderId = drillJourney(api);
  if (orderId !== undefined) api.getOrder(orderId);
}

export function teardown(): void {
  undoAll();
}
