/**
 * slow-replica: one of three catalog instances (the third) adds 1 s to every
 * product request (its mesh fault filter only).
 *
 * Hypothesis: the gateways' least_request balancer (power of two choices
 * over the tries in flight per endpoint) steers away from the slow instance,
 * so product reads' p95 in the fault stays within 2× the steady p95 (the
 * runner's check) and every read is served. With round_robin a third of the
 * tries wait for it.
 */

import { defineDrill, everyPhase } from './lib/define-drill.ts';
import { meshFault } from './lib/drill.ts';
import { instance } from './lib/replicas.ts';
import { readsHold, shopTraffic, warmCatalog } from './lib/traffic.ts';

const routes = ['catalog_list', 'catalog_product'] as const;

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '20s' },
    short: { steady: '10s', fault: '20s', recovery: '10s' },
  },
  traffic: { shop: 10 },
  routes,
  hypotheses: [...everyPhase(routes, { metric: 'served', threshold: 'rate>=0.995' })],
  maxTimeToRecoverMs: 10_000,
  needs: ['catalog', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 500),
  faults: [
    {
      fault: meshFault('latency-1s', instance('catalog', 3), {
        id: 'slow-replica',
        match: { pathPrefix: '/products' },
        delay: { percent: 100, ms: 1_000 },
      }),
    },
  ],
  recovered: () => readsHold(5, 300),
});

export const { options, chaos, teardown } = drill;

export function setup(): void {
  drill.setup();
  warmCatalog();
}
export const shop = shopTraffic({ orderShare: 0 });
