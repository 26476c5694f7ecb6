/**
 * bad-replica: one of three catalog instances (the second) answers 500 to
 * half its product requests — a fault rule in that instance's mesh fault
 * filter only; the other two are healthy.
 *
 * Hypothesis: the gateways' outlier detector (each process has its own; gateway.yaml,
 * upstreams.catalog.outlierDetection: failure percentage ≥ 30 % over ≥ 4
 * requests, swept every 2 s, enforced) ejects it within two intervals
 * (ejection_ms < 4 s: the first sweep may see only part of an interval);
 * product reads are served ≥ 99.5 % (the 500s before the ejection are
 * answered from the gateway's last good copy); p99 in the fault stays within
 * 1.5× the steady p99 + 50 ms (the runner's check); after the fault the instance is
 * back in rotation (no active ejection on any gateway: time to recover).
 */

import { defineDrill, everyPhase } from './lib/define-drill.ts';
import { meshFault } from './lib/drill.ts';
import { activeEjections, ejectionsOf, endpointOf, instance, watchEjection } from './lib/replicas.ts';
import { readsHold, shopTraffic, warmCatalog } from './lib/traffic.ts';

const routes = ['catalog_list', 'catalog_product'] as const;
const BAD = instance('catalog', 2);
/** Two sweeps of gateway.yaml's catalog outlierDetection.intervalMs (2 s). */
const EJECTION_LIMIT_MS = 4_000;
/** Reads hold and no gateway has a catalog endpoint ejected (before the fault, and back in rotation after it). */
const inRotation = () => readsHold(5, 500) && activeEjections('catalog').every((n) => n === 0);

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '30s' },
    short: { steady: '10s', fault: '20s', recovery: '15s' },
  },
  // Reads only: about 20 catalog requests/s, so each instance has the detector's volume per sweep.
  traffic: { shop: 10 },
  routes,
  hypotheses: [
    ...everyPhase(routes, { metric: 'served', threshold: 'rate>=0.995' }),
    ...routes.map((route) => ({
      metric: 'failures' as const,
      phase: 'fault' as const,
      route,
      threshold: 'rate<0.005',
    })),
  ],
  thresholds: { ejected: ['rate==1'], ejection_ms: [`max<${EJECTION_LIMIT_MS}`] },
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'gateway'],
  steadyState: inRotation,
  faults: [
    {
      fault: meshFault('errors-50pct', BAD, {
        id: 'bad-replica',
        // Product routes only: its readiness probe stays green, so only the outlier detector can take it out.
        match: { pathPrefix: '/products' },
        abort: { percent: 50, status: 500 },
      }),
    },
  ],
  hooks: () => {
    const endpoint = endpointOf(BAD);
    const before = ejectionsOf('catalog', endpoint);
    return {
      afterInject: () =>
        watchEjection('catalog', endpoint, before, drill.schedule.steadyMs + drill.schedule.faultMs),
    };
  },
  recovered: inRotation,
});

export const { options, chaos, teardown } = drill;

export function setup(): void {
  drill.setup();
  warmCatalog(); // every product has a last good copy at the gateway before the bad instance fails
}
export const shop = shopTraffic({ orderShare: 0 });
