/**
 * replica-crash: one of two orders instances (the second) is SIGKILLed under
 * order load — its orders held 1.5 s by its fault filter for the second
 * before, so tries are surely in flight on it when it dies with their
 * connections (a pause would not do: the supervisor takes a paused instance
 * out of the endpoints file at once) — and started again at the fault's end.
 *
 * Hypothesis: the gateways retry an order (it carries an Idempotency-Key) on
 * the other instance (previous_hosts: a retry avoids the endpoint its try
 * failed on; the gateway buffers a keyed order's body so it can send it
 * again) — the gateways' orders retries rise during the fault — and callers stop picking the dead one as soon as the endpoints
 * file drops it, so orders are accepted ≥ 99.5 % in every phase; the
 * runner's invariants hold (every 202 stored, none charged twice, every
 * order final); a new order completes after the restart.
 */

import { Counter } from 'k6/metrics';
import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { meshFault, processFault } from './lib/drill.ts';
import { gatewayRetries, instance } from './lib/replicas.ts';
import { orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

/** Retries the gateways sent to orders during the fault (bw_upstream_tries_total{kind="retry"}). */
const ordersRetries = new Counter('orders_retries');
const VICTIM = instance('orders', 2);

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '20s' },
    short: { steady: '8s', fault: '15s', recovery: '15s' },
  },
  // Every visit orders (about 8 orders/s), so tries are in flight on the instance when it dies.
  traffic: { shop: 8 },
  routes: [...JOURNEY_ROUTES],
  hypotheses: [
    ...everyPhase(['orders_create'], { metric: 'served', threshold: 'rate>=0.995' }),
    ...everyPhase(['catalog_product'], { metric: 'served', threshold: 'rate>=0.995' }),
  ],
  // From the fault's end, the killed instance's own start (migrations, warm-up) included.
  maxTimeToRecoverMs: 25_000,
  needs: ['orders', 'catalog', 'payments', 'gateway'],
  steadyState: () => readsHold(3) && orderCompletes(5_000),
  thresholds: { orders_retries: ['count>0'] },
  faults: [
    {
      fault: meshFault('hold-orders', VICTIM, {
        id: 'replica-crash-hold',
        match: { method: 'POST', pathPrefix: '/orders' },
        delay: { percent: 100, ms: 1_500 },
      }),
    },
    { atMs: 1_000, fault: processFault('sigkill', VICTIM, 'kill') },
  ],
  hooks: () => {
    let before = 0;
    return {
      afterInject: () => {
        before = gatewayRetries(['orders']);
      },
      beforeUndo: () => {
        const n = gatewayRetries(['orders']) - before;
        ordersRetries.add(n);
        console.info(`[replica-crash] the gateways retried ${n} orders tries during the fault`);
      },
    };
  },
  recovered: () => orderCompletes(3_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: 1 });
