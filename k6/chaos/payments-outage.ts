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

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    short: { steady: '10s', fault: '15s', recovery: '20s' },
  },
  traffic: { shop: 6 },
  routes: [...JOURNEY_ROUTES, 'orders_get'],
  hypotheses: [
    ...everyPhase(['catalog_list', 'catalog_product'], { metric: 'served', threshold: 'rate>=0.995' }),
    ...everyPhase(['orders_create'], { metric: 'served', threshold: 'rate>=0.99' }),
    { metric: 'http_req_duration', phase: 'fault', route: 'catalog_product', threshold: 'p(99)<1000' },
  ],
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'orders', 'payments', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5) && orderCompletes(5_000),
  faults: [
    // A short pause first: payments' blocked read still gets entries delivered, so it dies
    // mid-flight holding unacknowledged work that the restarted process must reclaim.
    { fault: processFault('pause', 'payments', 'pause') },
    { atMs: 1_500, fault: processFault('kill', 'payments', 'kill') },
  ],
  recovered: () => orderCompletes(2_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ readBack: true });
