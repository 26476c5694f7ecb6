/**
 * worker-crash: notifications is SIGKILLed at the start of the fault phase
 * (while payments still confirms orders) and payments halfway through it,
 * while orders keep streaming — each is
 * paused for 2 s first, so it dies holding delivered, unacknowledged entries
 * (mid-stream); both are started again at the fault's end.
 *
 * Hypothesis: orders are accepted ≥ 99 % throughout, and — checked by the
 * runner in the databases — zero duplicate charges and zero missing
 * notifications once the consumers reclaim what the killed ones left
 * pending; a new order completes soon after the restart (time to recover).
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
  { steady: '8s', fault: '12s', recovery: '15s' },
);
usePhaseSchedule(s);

const hypotheses: Hypothesis[] = (['steady', 'fault', 'recovery'] as const).flatMap((phase): Hypothesis[] => [
  { metric: 'served', phase, route: 'orders_create', threshold: 'rate>=0.99' },
  { metric: 'served', phase, route: 'catalog_product', threshold: 'rate>=0.995' },
]);

export const options: Options = drillOptions({
  schedule: s,
  // Order-heavy: every other visit orders, so the streams are busy when the workers die.
  traffic: { shop: steadyTraffic('shop', rate(5), s) },
  thresholds: {
    ...drillThresholds(hypotheses, ['catalog_list', 'catalog_product', 'orders_create', 'orders_get']),
    time_to_recover: ['max<15000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

export function setup(): void {
  requireSteadyState(
    ['orders', 'payments', 'notifications', 'gateway-1', 'gateway-2'],
    () => readsHold(3) && orderCompletes(5_000),
    () => raiseLimits(totalMs(s) + 180_000),
  );
}

export function chaos(): void {
  runSchedule(
    s,
    [
      // Paused first: its blocked XREADGROUP still gets entries delivered, which stay pending
      // for this consumer — then SIGKILL, so the new process has to reclaim them.
      // notifications first, while payments still confirms orders (its input keeps flowing) …
      { fault: { name: 'pause', spec: { kind: 'process', target: 'notifications', action: 'pause' } } },
      {
        atMs: 2_000,
        fault: { name: 'sigkill', spec: { kind: 'process', target: 'notifications', action: 'kill' } },
      },
      // … then payments, halfway through, while orders keep being placed.
      {
        atMs: s.faultMs / 2,
        fault: { name: 'pause', spec: { kind: 'process', target: 'payments', action: 'pause' } },
      },
      {
        atMs: s.faultMs / 2 + 2_000,
        fault: { name: 'sigkill', spec: { kind: 'process', target: 'payments', action: 'kill' } },
      },
    ],
    () => orderCompletes(2_000),
  );
}

export function shop(): void {
  const orderId = drillJourney(api, 0.5);
  if (orderId !== undefined) api.getOrder(orderId);
}

export function teardown(): void {
  undoAll();
}
