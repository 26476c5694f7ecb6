/**
 * gateway-rolling-restart: the two gateway processes (one port, SO_REUSEPORT)
 * are restarted one at a time under load — each stops gracefully (readiness
 * off, drain, in-flight requests finish) and is ready again before the next.
 *
 * Hypothesis: no request fails — every request in every phase is served.
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
  { steady: '15s', fault: '40s', recovery: '15s' },
  { steady: '8s', fault: '30s', recovery: '10s' },
);
usePhaseSchedule(s);

const routes = ['catalog_list', 'catalog_product', 'orders_create'] as const;
const hypotheses: Hypothesis[] = (['steady', 'fault', 'recovery'] as const).flatMap((phase) =>
  routes.flatMap((route): Hypothesis[] => [
    { metric: 'served', phase, route, threshold: 'rate==1' },
    { metric: 'failures', phase, route, threshold: 'rate==0' },
  ]),
);

export const options: Options = drillOptions({
  schedule: s,
  traffic: { shop: steadyTraffic('shop', rate(6), s) },
  thresholds: {
    ...drillThresholds(hypotheses, [...routes]),
    time_to_recover: ['max<10000'],
    recovered: ['rate==1'],
  },
});

const api = withServed(shopApi());

export function setup(): void {
  requireSteadyState(
    ['gateway-1', 'gateway-2', 'catalog', 'orders'],
    () => readsHold(5, 1_000),
    () => raiseLimits(totalMs(s) + 120_000),
  );
}

export function chaos(): void {
  runSchedule(
    s,
    [{ fault: { name: 'rolling-restart', spec: { kind: 'restart', targets: ['gateway-1', 'gateway-2'] } } }],
    () => readsHold(5, 1_000),
  );
}

export function shop(): void {
  drillJourney(api);
}

export function teardown(): void {
  undoAll();
}
