/**
 * redis-outage: Redis is stopped for the fault phase, then started again.
 *
 * Hypothesis: browsing and ordering continue ≥ 99 % (catalog reads bypass the
 * cache, orders wait in the outbox, the gateway's rate limiter fails open as
 * gateway.yaml configures it for this consumer); after the restart the
 * outbox drains and a new order completes (time to recover) — and the runner
 * checks every accepted order completed.
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

const hypotheses: Hypothesis[] = (['steady', 'fault', 'recovery'] as const).flatMap((phase): Hypothesis[] => [
  { metric: 'served', phase, route: 'catalog_list', threshold: 'rate>=0.99' },
  { metric: 'served', phase, route: 'catalog_product', threshold: 'rate>=0.99' },
  { metric: 'served', phase, route: 'orders_create', threshold: 'rate>=0.99' },
]);

export const options: Options = drillOptions({
  schedule: s,
  traffic: { shop: steadyTraffic('shop', rate(6), s) },
  thresholds: {
    ...drillThresholds(hypotheses, ['catalog_list', 'catalog_product', 'orders_create', 'orders_get']),
    time_to_recover: ['max<20000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

export function setup(): void {
  requireSteadyState(
    ['redis', 'catalog', 'orders', 'payments', 'gateway-1', 'gateway-2'],
    () => readsHold(5) && orderCompletes(5_000),
    () => raiseLimits(totalMs(s) + 120_000),
  );
}

export function chaos(): void {
  runSchedule(
    s,
    [{ fault: { name: 'stop', spec: { kind: 'process', target: 'redis', action: 'stop' } } }],
    () => orderCompletes(3_000),
  );
}

export function shop(): void {
  const orderId = drillJourney(api);
  if (orderId !== undefined) api.getOrder(orderId);
}

export function teardown(): void {
  undoAll();
}
