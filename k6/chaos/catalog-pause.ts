/**
 * catalog-pause: catalog is paused (SIGSTOP: connections hang, nothing is
 * refused) for 6 s under browsing load, then resumed — the fault of issue
 * 13, where the gateway's breaker kept failing reads fast for 5 s after
 * catalog was back.
 *
 * Hypothesis: nothing hangs beyond the gateway's deadline while catalog is
 * frozen; the gateway's catalog breaker opens, and once catalog is resumed
 * it closes on every gateway within 1 s (breaker_recovery_ms < 1000); from
 * 1 s after the fault every route is served ≥ 99 % again.
 */

import { catalogWithinDeadline, defineDrill, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { processFault } from './lib/drill.ts';
import { isShort, readsHold, shopTraffic } from './lib/traffic.ts';

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '6s', recovery: '30s' },
    short: { steady: '10s', fault: '6s', recovery: '12s' },
  },
  // Enough reads that 6 s of timeouts outweigh the rolling window's successes and open the breaker.
  traffic: { shop: 10 },
  routes: JOURNEY_ROUTES,
  hypotheses: catalogWithinDeadline(),
  maxTimeToRecoverMs: 10_000,
  needs: ['catalog', 'orders', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 500),
  faults: [{ fault: processFault('sigstop', 'catalog', 'pause') }],
  breaker: { upstream: 'catalog', maxRecoveryMs: 1_000 },
  recovered: () => readsHold(5, 500, undefined, false),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic({ orderShare: isShort() ? 0.25 : 0.1 }); // short: ≥ 50 orders in recovery;
