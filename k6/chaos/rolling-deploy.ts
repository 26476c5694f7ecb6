/**
 * rolling-deploy: catalog (three instances) and orders (two) are rolled out
 * side by side under load through the supervisor (`npm run local -- rollout`): new
 * instances start and become ready, old ones drain — out of the endpoints
 * file first, in-flight requests finish, then SIGTERM. The full form uses a
 * Deployment's defaults (maxSurge 25 %, maxUnavailable 25 %: one at a time);
 * the short form surges 100 % (every new instance first, then every old one
 * drains) to fit the fault phase. `ROLLOUT_DRAIN=false` SIGKILLs each old
 * instance instead of draining it (the broken variant).
 *
 * Hypothesis: zero failed requests — every request in every phase is served,
 * none from a stale copy (a stale answer hides a failed upstream request) —
 * no request was sent to a leaving instance (from the drill's start to the
 * rollout's end no gateway try to catalog or orders failed to connect or had
 * its connection broken under it — bw_upstream_retries_total's causes
 * connect_failure and reset; a slow try while five processes start on a
 * small machine, cut by its timeout or by the callee's deadline (504), is not
 * a leaving instance: `leaving_retries` 0), and the runner's invariants hold.
 */

import { Counter } from 'k6/metrics';
import { env } from '../lib/config.ts';
import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { gatewayRetriesByCause } from './lib/replicas.ts';
import { isShort, readsHold, shopTraffic } from './lib/traffic.ts';

/** Gateway retries to catalog and orders after a connection failure or reset, from the chaos VU's start until the rollout ended. */
const leavingRetries = new Counter('leaving_retries');
const UPSTREAMS = ['catalog', 'orders'];
const drain = env('ROLLOUT_DRAIN') !== 'false';
const rollout = {
  name: drain ? 'rollout' : 'rollout-no-drain',
  // Both services side by side; the inject call returns when both rollouts are done.
  spec: {
    kind: 'rollout',
    services: UPSTREAMS,
    ...(isShort() ? { maxSurge: '100%', maxUnavailable: 0 } : {}),
    ...(drain ? {} : { drain: false }),
  },
};

const drill = defineDrill({
  phases: {
    full: { steady: '15s', fault: '45s', recovery: '15s' },
    short: { steady: '8s', fault: '25s', recovery: '8s' },
  },
  traffic: { shop: 10 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...everyPhase(JOURNEY_ROUTES, { metric: 'served', threshold: 'rate==1' }),
    ...everyPhase(JOURNEY_ROUTES, { metric: 'failures', threshold: 'rate==0' }),
    ...everyPhase(['catalog_list', 'catalog_product'], {
      metric: 'degraded',
      tags: { reason: 'stale' },
      threshold: 'count==0',
    }),
  ],
  maxTimeToRecoverMs: 10_000,
  needs: ['catalog', 'orders', 'gateway'],
  steadyState: () => readsHold(5, 1_000),
  thresholds: { leaving_retries: ['count==0'] },
  faults: [{ fault: rollout }],
  hooks: () => {
    // Before the steady phase (the inject returns only when the rollout is done).
    const before = gatewayRetriesByCause(UPSTREAMS);
    return {
      afterInject: () => {
        const after = gatewayRetriesByCause(UPSTREAMS);
        const since = (cause: keyof typeof after) => after[cause] - before[cause];
        const n = Math.max(0, since('connect_failure') + since('reset'));
        leavingRetries.add(n);
        const byCause = (Object.keys(after) as (keyof typeof after)[])
          .map((cause) => `${cause} ${since(cause)}`)
          .join(', ');
        console.info(
          `[rolling-deploy] gateway retries to catalog and orders after a connection failure or reset until the rollout ended: ${n} (all retries by cause: ${byCause})`,
        );
      },
    };
  },
  recovered: () => readsHold(5, 1_000),
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic();
