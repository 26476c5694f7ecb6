/**
 * catalog-latency: every catalog request is delayed by 2 s in catalog's mesh
 * fault filter for the fault phase.
 *
 * Hypothesis: callers answer within their deadline — catalog routes through
 * the gateway (per-try 500 ms, deadline 2 s) p99 < 2.1 s, orders (gateway
 * deadline 5 s) p99 < 5.1 s; no request hangs; the breakers open, so most
 * answers are fast (p50 < 300 ms) and the fast 503s carry Retry-After (the
 * contract checks hold); while the breaker is open the gateway answers
 * product reads from its last good copy (stale-if-error, marked
 * `Cache-Status: …; fwd=stale`): ≥ 95 % of product reads in the fault phase
 * are served, stale; after the fault the gateway's catalog breaker is closed
 * on every gateway process within 1 s (breaker_recovery_ms < 1000), and
 * catalog reads are fresh and fast again.
 */

import { defineDrill, degradedInFault, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { type Hypothesis, meshFault } from './lib/drill.ts';
import { readsHold, shopTraffic, warmCatalog } from './lib/traffic.ts';

const catalogRoutes = ['catalog_list', 'catalog_product'] as const;

const drill = defineDrill({
  phases: {
    short: { steady: '10s', fault: '20s', recovery: '15s' },
  },
  traffic: { shop: 6 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...catalogRoutes.flatMap((route): Hypothesis[] => [
      { metric: 'served', phase: 'steady', route, threshold: 'rate>=0.995' },
      { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(99)<2100' },
      { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(50)<300' },
      { metric: 'checks', phase: 'fault', route, threshold: 'rate>=0.99' },
    ]),
    { metric: 'served', phase: 'fault', route: 'catalog_product', threshold: 'rate>=0.95' },
    degradedInFault('catalog_product', { reason: 'stale' }),
    { metric: 'served', phase: 'steady', route: 'orders_create', threshold: 'rate>=0.99' },
    { metric: 'http_req_duration', phase: 'fault', route: 'orders_create', threshold: 'p(99)<5100' },
  ],
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'orders', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 500),
  faults: [
    {
      fault: meshFault('latency-2s', 'catalog', {
        id: 'drill-latency',
        match: { pathPrefix: '/' },
        delay: { percent: 100, ms: 2_000 },
      }),
    },
  ],
  breaker: { upstream: 'catalog', maxRecoveryMs: 1_000 },
  recovered: () => readsHold(5, 500, undefined, false),
});

export const { options, chaos, teardown } = drill;

export function setup(): void {
  drill.setup();
  warmCatalog(); // every product has a last good answer at the gateway before catalog slows down
}
export const shop = shopTraffic();
