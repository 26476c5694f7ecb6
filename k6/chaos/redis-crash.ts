/**
 * redis-crash: payments is paused (SIGSTOP) so order events pile up in the
 * stream — one batch delivered to its blocked read and pending, the rest
 * unread — then redis-server is SIGKILLed (not stopped: no AOF rewrite, no
 * goodbye to the clients) under order load; at the fault's end Redis is
 * started again on the same folder and payments resumed. The outbox relay
 * marked those events published when Redis answered their XADD, so they
 * exist nowhere but in Redis: if Redis lost them, their orders would never
 * be paid.
 *
 * Hypothesis: browsing and ordering continue ≥ 99 % (catalog reads bypass
 * the cache, orders wait in the outbox, the gateway's limiter fails open as
 * gateway.yaml configures it for this consumer); after the restart a new
 * order completes (time to recover) — and, checked by the runner: every
 * order answered 202 is in the orders database and final within the settle
 * time, no payment without its order, none charged twice, one notification
 * per order; the consumer groups are still there and nothing stays pending
 * or dead-lettered. An XADD, XACK or pending entry that Redis acknowledged
 * and then lost would leave an order unpaid, a notification missing or an
 * entry stuck.
 */

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '20s', recovery: '30s' },
    // Steady 10 s: ~150 journeys, half of them orders (~75): an 8 s steady phase drew
    // 46 orders once, under the 50 samples a rate needs (INCONCLUSIVE).
    short: { steady: '10s', fault: '8s', recovery: '16s' },
  },
  traffic: { shop: 6 },
  routes: [...JOURNEY_ROUTES, 'orders_get'],
  hypotheses: everyPhase(JOURNEY_ROUTES, { metric: 'served', threshold: 'rate>=0.99' }),
  maxTimeToRecoverMs: 15_000,
  needs: ['redis', 'catalog', 'orders', 'payments', 'notifications', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(3) && orderCompletes(5_000),
  faults: [
    { fault: processFault('pause', 'payments', 'pause') },
    { atMs: 3_000, fault: processFault('sigkill', 'redis', 'kill') },
  ],
  recovered: () => orderCompletes(3_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: 0.5, readBack: true });
