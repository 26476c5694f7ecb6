/**
 * noisy-neighbour: bob (JWT) browses at a steady pace throughout; in the
 * fault phase alice (API key) floods the gateway at 10× her limit — the
 * fault pins her limit to 120/min (2/s) and she sends 20/s.
 *
 * Hypothesis: bob's reads stay ≥ 99.5 % served in every phase and, checked by
 * the runner, his p95 in the fault phase stays within 2 × his steady-phase
 * p95 + 50 ms; alice is limited (429s counted as degraded, none failing).
 */

import { env } from '../lib/config.ts';
import { shopApi } from '../lib/shop-api.ts';
import { defineDrill, degradedInFault, everyPhase } from './lib/define-drill.ts';
import { drillThresholds, withServed } from './lib/drill.ts';
import { browse, readsHold } from './lib/traffic.ts';

/** alice's limit during the flood, and the flood: 10× it. */
const ALICE_PER_MINUTE = 120;
const FLOOD_PER_SECOND = (ALICE_PER_MINUTE / 60) * 10;

const bob = { jwt: env('JWT_BOB') };
const victimRoutes = ['catalog_list', 'catalog_product'] as const;

const drill = defineDrill({
  phases: {
    full: { steady: '20s', fault: '30s', recovery: '20s' },
    short: { steady: '12s', fault: '20s', recovery: '10s' },
  },
  traffic: {
    victim: 3,
    flood: (s) => ({
      executor: 'constant-arrival-rate',
      exec: 'flood',
      rate: FLOOD_PER_SECOND,
      timeUnit: '1s',
      startTime: `${s.steadyMs}ms`,
      duration: `${s.faultMs}ms`,
      preAllocatedVUs: 10,
      maxVUs: 40,
      gracefulStop: '5s',
    }),
  },
  routes: victimRoutes,
  routeTags: { consumer: 'bob' },
  hypotheses: [
    ...everyPhase(victimRoutes, { metric: 'served', tags: { consumer: 'bob' }, threshold: 'rate>=0.995' }),
    degradedInFault('catalog_list', { consumer: 'alice', reason: 'rate_limited' }),
    {
      metric: 'failures',
      phase: 'fault',
      route: 'catalog_list',
      tags: { consumer: 'alice' },
      threshold: 'rate<0.01',
    },
  ],
  thresholds: drillThresholds([], ['catalog_list'], { consumer: 'alice' }),
  maxTimeToRecoverMs: 10_000,
  needs: ['gateway-1', 'gateway-2', 'catalog', 'redis'],
  steadyState: () => readsHold(5, 1_000, bob),
  headroomMs: false, // the drill is about alice's real limit
  faults: [
    {
      fault: {
        name: 'flood-10x',
        spec: { kind: 'limit', policy: 'alice', limits: { minute: ALICE_PER_MINUTE } },
      },
    },
  ],
  recovered: () => readsHold(5, 500, bob),
});

export const { options, chaos, teardown } = drill;

export function setup(): void {
  if (bob.jwt === undefined)
    throw new Error('JWT_BOB is not set (the runner mints it: npm run gateway -- token bob)');
  drill.setup();
}

const victimApi = withServed(shopApi({ credentials: bob, tags: { consumer: 'bob' } }), { consumer: 'bob' });
const floodApi = withServed(shopApi({ tags: { consumer: 'alice' } }), { consumer: 'alice' });

export function victim(): void {
  browse(victimApi);
}

export function flood(): void {
  floodApi.listProducts(20);
}
