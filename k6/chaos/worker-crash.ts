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

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { isShort, orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    short: { steady: '8s', fault: '12s', recovery: '15s' },
  },
  // Order-heavy: every other visit orders (below), so the streams are busy when the workers die.
  traffic: { shop: 5 },
  routes: [...JOURNEY_ROUTES, 'orders_get'],
  hypotheses: [
    ...everyPhase(['orders_create'], { metric: 'served', threshold: 'rate>=0.99' }),
    ...everyPhase(['catalog_product'], { metric: 'served', threshold: 'rate>=0.995' }),
  ],
  maxTimeToRecoverMs: 15_000,
  needs: ['orders', 'payments', 'notifications', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(3) && orderCompletes(5_000),
  headroomMs: 180_000,
  faults: (s) => [
    // Paused first: its blocked XREADGROUP still gets entries delivered, which stay pending
    // for this consumer — then SIGKILL, so the new process has to reclaim them.
    // notifications first, while payments still confirms orders (its input keeps flowing) …
    { fault: processFault('pause', 'notifications', 'pause') },
    { atMs: 2_000, fault: processFault('sigkill', 'notifications', 'kill') },
    // … then payments, halfway through, while orders keep being placed.
    { atMs: s.faultMs / 2, fault: processFault('pause', 'payments', 'pause') },
    { atMs: s.faultMs / 2 + 2_000, fault: processFault('sigkill', 'payments', 'kill') },
  ],
  recovered: () => orderCompletes(2_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: isShort() ? 0.6 : 0.5, readBack: true }); // short: ≥ 50 orders in steady;
