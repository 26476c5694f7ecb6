/**
 * replica-crash: one of two orders instances (the second) is SIGKILLed at
 * the start of the fault phase under order load — the tries in flight on it
 * die with their connections — and started again at the fault's end.
 *
 * Hypothesis: the gateways retry an order (it carries an Idempotency-Key) on
 * the other instance (previous_hosts: a retry avoids the endpoint its try
 * failed on), and callers stop picking the dead one as soon as the endpoints
 * file drops it, so orders are accepted ≥ 99.5 % in every phase; the
 * runner's invariants hold (every 202 stored, none charged twice, every
 * order final); a new order completes after the restart.
 */

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { instance } from './lib/replicas.ts';
import { orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '20s' },
    short: { steady: '8s', fault: '15s', recovery: '12s' },
  },
  // Order-heavy: half the visits order, so tries are in flight on the instance when it dies.
  traffic: { shop: 8 },
  routes: [...JOURNEY_ROUTES],
  hypotheses: [
    ...everyPhase(['orders_create'], { metric: 'served', threshold: 'rate>=0.995' }),
    ...everyPhase(['catalog_product'], { metric: 'served', threshold: 'rate>=0.995' }),
  ],
  maxTimeToRecoverMs: 12_000,
  needs: ['orders', 'catalog', 'payments', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(3) && orderCompletes(5_000),
  faults: [{ fault: processFault('sigkill', instance('orders', 2), 'kill') }],
  recovered: () => orderCompletes(3_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: 0.5 });
