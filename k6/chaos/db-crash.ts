/**
 * db-crash: orders' PostgreSQL (pg-orders) is SIGKILLed under order load and
 * started again 3 s later; halfway through the fault phase payments'
 * PostgreSQL (pg-payments) the same. A SIGKILL, not a stop: no checkpoint,
 * no goodbye to the clients; whatever PostgreSQL acknowledged must be in its
 * WAL already.
 *
 * Hypothesis: catalog reads stay ≥ 99.5 % served throughout (catalog has its
 * own database); no order request hangs while its database is gone; and —
 * checked by the runner in the databases — every order answered 202 is in
 * the orders database, every order is final within the settle time, no
 * payment exists without its order, none is charged twice, and each final
 * order has one notification. With the old settings (BW_PG_UNSAFE=1:
 * synchronous_commit off) PostgreSQL acknowledges commits it then loses, and
 * the invariants fail.
 */

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { isShort, orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const RESTART_AFTER_MS = 3_000;

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '30s' },
    short: { steady: '8s', fault: '12s', recovery: '12s' },
  },
  // Order-heavy (every other visit orders, below), so commits are in flight when a database dies.
  traffic: { shop: 6 },
  routes: [...JOURNEY_ROUTES, 'orders_get'],
  hypotheses: [
    ...everyPhase(['catalog_list', 'catalog_product'], { metric: 'served', threshold: 'rate>=0.995' }),
    { metric: 'served', phase: 'steady', route: 'orders_create', threshold: 'rate>=0.99' },
    { metric: 'http_req_duration', phase: 'fault', route: 'orders_create', threshold: 'p(99)<5100' },
  ],
  maxTimeToRecoverMs: 15_000,
  needs: ['pg-orders', 'pg-payments', 'orders', 'payments', 'notifications', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(3) && orderCompletes(5_000),
  headroomMs: 180_000,
  faults: (s) => [
    { fault: processFault('sigkill-pg-orders', 'pg-orders', 'kill'), untilMs: RESTART_AFTER_MS },
    {
      atMs: s.faultMs / 2,
      untilMs: s.faultMs / 2 + RESTART_AFTER_MS,
      fault: processFault('sigkill-pg-payments', 'pg-payments', 'kill'),
    },
  ],
  recovered: () => orderCompletes(3_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: isShort() ? 0.7 : 0.5, readBack: true }); // short: ≥ 100 orders in the fault;
