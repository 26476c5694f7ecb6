/**
 * redis-outage: Redis is stopped for the fault phase, then started again.
 *
 * Hypothesis: browsing and ordering continue ≥ 99 % (catalog reads bypass the
 * cache, orders wait in the outbox, the gateway's rate limiter fails open as
 * gateway.yaml configures it for this consumer); after the restart the
 * outbox drains and a new order completes (time to recover) — and the runner
 * checks every accepted order completed.
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
  hypotheses: everyPhase(JOURNEY_ROUTES, {
    metric: 'served',
    threshold: 'rate>=0.99',
  }),
  maxTimeToRecoverMs: 20_000,
  needs: ['redis', 'catalog', 'orders', 'payments', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5) && orderCompletes(5_000),
  faults: [{ fault: processFault('stop', 'redis', 'stop') }],
  recovered: () => orderCompletes(3_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ readBack: true });
