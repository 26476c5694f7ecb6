/**
 * noisy-neighbour: bob (JWT) browses at a steady pace throughout; in the
 * fault phase alice (API key) floods the gateway at 10× her limit — the
 * fault pins her limit to 120/min (2/s) and she sends 20/s.
 *
 * Hypothesis: bob's reads stay ≥ 99.5 % served in every phase and, checked by
 * the runner, his p95 in the fault phase stays within 2 × his steady-phase
 * p95 + 50 ms; alice is limited (429s counted as degraded, none failing).
 */

import type { Options } from 'k6/options';
import { env } from '../lib/config.ts';
import { shopApi } from '../lib/shop-api.ts';
import {
  drillOptions,
  drillThresholds,
  type Hypothesis,
  rate,
  runSchedule,
  schedule,
  steadyTraffic,
  undoAll,
  usePhaseSchedule,
  withServed,
} from './lib/drill.ts';
import { browse, readsHold, requireSteadyState } from './lib/traffic.ts';

const s = schedule(
  { steady: '20s', fault: '30s', recovery: '20s' },
  { steady: '12s', fault: '20s', recovery: '10s' },
);
usePhaseSchedule(s);

/** alice's limit during the flood, and the flood: 10× it. */
const ALICE_PER_MINUTE = 120;
const FLOOD_PER_SECOND = (ALICE_PER_MINUTE / 60) * 10;

const bob = { jwt: env('JWT_BOB') };
const victimRoutes = ['catalog_list', 'catalog_product'] as const;
const hypotheses: Hypothesis[] = [
  ...(['steady', 'fault', 'recovery'] as const).flatMap((phase) =>
    victimRoutes.map(
      (route): Hypothesis => ({
        metric: 'served',
        phase,
        route,
        tags: { consumer: 'bob' },
        threshold: 'rate>=0.995',
      }),
    ),
  ),
  {
    metric: 'degraded',
    phase: 'fault',
    route: 'catalog_list',
    tags: { consumer: 'alice', reason: 'rate_limited' },
    threshold: 'count>0',
  },
  {
    metric: 'failures',
    phase: 'fault',
    route: 'catalog_list',
    tags: { consumer: 'alice' },
    threshold: 'rate<0.01',
  },
];

export const options: Options = drillOptions({
  schedule: s,
  traffic: {
    victim: steadyTraffic('victim', rate(3), s),
    flood: {
      executor: 'constant-arrival-rate',
      exec: 'flood',
      rate: FLOOD_PER_SECOND,
      timeUnit: '1s',
      startTime: `${s.steadyMs}ms`,
      duration: `${s.faultMs}ms`,
      preAllocatedVUs: 10,
      maxVUs: 40,
      gracefulStop: '5s',
    },
  },
  thresholds: {
    ...drillThresholds(hypotheses, [...victimRoutes], { consumer: 'bob' }),
    ...drillThresholds([], ['catalog_list'], { consumer: 'alice' }),
    time_to_recover: ['max<10000'],
    recovered: ['rate==1'],
  },
});

const victimApi = withServed(shopApi({ credentials: bob, tags: { consumer: 'bob' } }), { consumer: 'bob' });
const floodApi = withServed(shopApi({ tags: { consumer: 'alice' } }), { consumer: 'alice' });

export function setup(): void {
  if (bob.jwt === undefined)
    throw new Error('JWT_BOB is not set (the runner mints it: node gateway/src/cli.ts token bob)');
  requireSteadyState(['gateway-1', 'gateway-2', 'catalog', 'redis'], () => readsHold(5, 1_000, bob));
}

export function chaos(): void {
  runSchedule(
    s,
    [
      {
        fault: {
          name: 'flood-10x',
          spec: { kind: 'limit', policy: 'alice', limits: { minute: ALICE_PER_MINUTE } },
        },
      },
    ],
    () => readsHold(5, 500, bob),
  );
}

export function victim(): void {
  browse(victimApi);
}

export function flood(): void {
  floodApi.listProducts(20);
}

export function teardown(): void {
  undoAll();
}
