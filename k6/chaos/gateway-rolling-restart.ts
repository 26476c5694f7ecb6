/**
 * gateway-rolling-restart: the two gateway processes (one port, SO_REUSEPORT)
 * are restarted one at a time under load — each stops gracefully (readiness
 * off, drain, in-flight requests finish) and is ready again before the next.
 *
 * Hypothesis: no request fails — every request in every phase is served.
 */

import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    full: { steady: '15s', fault: '40s', recovery: '15s' },
    short: { steady: '8s', fault: '30s', recovery: '10s' },
  },
  traffic: { shop: 6 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...everyPhase(JOURNEY_ROUTES, { metric: 'served', threshold: 'rate==1' }),
    ...everyPhase(JOURNEY_ROUTES, { metric: 'failures', threshold: 'rate==0' }),
  ],
  maxTimeToRecoverMs: 10_000,
  needs: ['gateway-1', 'gateway-2', 'catalog', 'orders'],
  steadyState: () => readsHold(5, 1_000),
  faults: [
    { fault: { name: 'rolling-restart', spec: { kind: 'restart', targets: ['gateway-1', 'gateway-2'] } } },
  ],
  recovered: () => readsHold(5, 1_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic();
