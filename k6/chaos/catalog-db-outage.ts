/**
 * catalog-db-outage: catalog's PostgreSQL (pg-catalog) is stopped for the
 * fault phase, then started again.
 *
 * Hypothesis: product reads keep being served from catalog's cache — marked
 * stale (X-Cache: stale, Warning: 110) — ≥ 99 %; orders that cannot reserve
 * stock are refused honestly (503 + Retry-After), never failed; once the
 * database is back, reads are fresh again (time to recover).
 */

import { defineDrill, degradedInFault, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { readsHold, shopTraffic, warmCatalog } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    short: { steady: '10s', fault: '20s', recovery: '15s' },
  },
  traffic: { shop: 6 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...everyPhase(['catalog_list', 'catalog_product'], { metric: 'served', threshold: 'rate>=0.99' }),
    degradedInFault('catalog_product', { reason: 'stale' }),
    { metric: 'failures', phase: 'fault', route: 'orders_create', threshold: 'rate<0.01' },
    { metric: 'served', phase: 'steady', route: 'orders_create', threshold: 'rate>=0.99' },
  ],
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'pg-catalog', 'orders', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 1_000),
  faults: [{ fault: processFault('stop', 'pg-catalog', 'stop') }],
  recovered: () => readsHold(3, 1_000, undefined, false),
});

export const { options, chaos, teardown } = drill;
export const shop = shopTraffic();

export function setup(): void {
  drill.setup();
  warmCatalog(); // every product has a stale copy before the database goes
}
