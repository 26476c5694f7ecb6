/**
 * catalog-db-outage: catalog's PostgreSQL (pg-catalog) is stopped for the
 * fault phase, then started again.
 *
 * Hypothesis: product reads keep being served from catalog's cache — marked
 * stale (X-Cache: stale, Warning: 110) — ≥ 99 %; orders that cannot reserve
 * stock are refused honestly (503 + Retry-After), never failed; once the
 * database is back, reads are fresh again (time to recover).
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
import { drillJourney, readsHold, requireSteadyState, warmCatalog } from './lib/traffic.ts';

const s = schedule(
  { steady: '20s', fault: '30s', recovery: '30s' },
  { steady: '10s', fault: '20s', recovery: '15s' },
);
usePhaseSchedule(s);

const hypotheses: Hypothesis[] = [
  ...(['steady', 'fault', 'recovery'] as const).flatMap((phase): Hypothesis[] => [
    { metric: 'served', phase, route: 'catalog_list', threshold: 'rate>=0.99' },
    { metric: 'served', phase, route: 'catalog_product', threshold: 'rate>=0.99' },
  ]),
  {
    metric: 'degraded',
    phase: 'fault',
    route: 'catalog_product',
    tags: { reason: 'stale' },
    threshold: 'count>0',
  },
  { metric: 'failures', phase: 'fault', route: 'orders_create', threshold: 'rate<0.01' },
  { metric: 'served', phase: 'steady', route: 'orders_create', threshold: 'rate>=0.99' },
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
    ['catalog', 'pg-catalog', 'orders', 'gateway-1', 'gateway-2'],
    () => readsHold(5, 1_000),
    () => raiseLimits(totalMs(s) + 120_000),
  );
  warmCatalog(); // every product has a stale copy before the database goes
}

export function chaos(): void {
  runSchedule(
    s,
    [{ fault: { name: 'stop', spec: { kind: 'process', target: 'pg-catalog', action: 'stop' } } }],
    () => readsHold(3, 1_000, undefined, false),
  );
}

export function shop(): void {
  drillJourney(api);
}

export function teardown(): void {
  undoAll();
}
