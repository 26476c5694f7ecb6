/**
 * The load profiles every script in k6/load shares: each is one arrival-rate
 * scenario (open model: the rate is held whatever the latency, as real
 * traffic is) plus the phase schedule matching its stages, so requests are
 * tagged `phase:ramp-up|steady|spike|…`.
 *
 * Rates are iterations (shop journeys) per second. Every number can be
 * overridden from the environment so CI can run a profile in seconds:
 *
 * | variable    | meaning                                         |
 * |-------------|-------------------------------------------------|
 * | `RATE`      | base journeys/s                                 |
 * | `PEAK_RATE` | journeys/s at the top (stress, spike)           |
 * | `DURATION`  | how long the main (steady/peak) part lasts      |
 * | `RAMP`      | how long each ramp lasts                        |
 * | `MAX_VUS`   | cap on VUs k6 may allocate to hold the rate     |
 */

import type { Scenario } from 'k6/options';
import { env, envDurationMs, envNumber } from './config.ts';
import { formatDuration } from './duration.ts';

export type ProfileName = 'smoke' | 'average' | 'stress' | 'spike' | 'soak';

export interface Profile {
  readonly scenario: Scenario;
  /** `PHASES` spec matching the stages (overridden by `PHASES` itself). */
  readonly phases: string;
  /** Largest share of failed requests this profile tolerates. */
  readonly maxFailureRate: number;
  /** Thresholds on the profile's own phases (e.g. spike: the `after` phase must recover). */
  readonly phaseThresholds?: Record<string, string[]>;
}

interface Stage {
  readonly phase: string;
  readonly durationMs: number;
  readonly target: number;
}

function ramping(startRate: number, stages: readonly Stage[], maxVUs: number): Profile['scenario'] {
  return {
    executor: 'ramping-arrival-rate',
    exec: 'journey',
    startRate,
    timeUnit: '1s',
    preAllocatedVUs: Math.max(2, Math.ceil(Math.max(startRate, ...stages.map((s) => s.target)) / 4)),
    maxVUs,
    stages: stages.map((s) => ({ duration: formatDuration(s.durationMs), target: s.target })),
  };
}

/** A constant arrival rate held for `durationMs`: the whole run is one `steady` phase. */
function constant(
  rate: number,
  durationMs: number,
  vus: { preAllocated: number; max: number },
  maxFailureRate: number,
): Profile {
  return {
    scenario: {
      executor: 'constant-arrival-rate',
      exec: 'journey',
      rate,
      timeUnit: '1s',
      duration: formatDuration(durationMs),
      preAllocatedVUs: vus.preAllocated,
      maxVUs: vus.max,
    },
    phases: `steady:${formatDuration(durationMs)}`,
    maxFailureRate,
  };
}

function phasesOf(stages: readonly Stage[]): string {
  return stages.map((s) => `${s.phase}:${formatDuration(s.durationMs)}`).join(',');
}

export function profile(name: ProfileName): Profile {
  const maxVUs = envNumber('MAX_VUS', 200);
  switch (name) {
    case 'smoke': {
      const rate = envNumber('RATE', 2);
      const durationMs = envDurationMs('DURATION', '30s');
      return constant(rate, durationMs, { preAllocated: 2, max: Math.min(maxVUs, 20) }, 0.01);
    }
    case 'average': {
      const rate = envNumber('RATE', 20);
      const ramp = envDurationMs('RAMP', '1m');
      const stages: Stage[] = [
        { phase: 'ramp-up', durationMs: ramp, target: rate },
        { phase: 'steady', durationMs: envDurationMs('DURATION', '5m'), target: rate },
        { phase: 'ramp-down', durationMs: Math.ceil(ramp / 2), target: 0 },
      ];
      return { scenario: ramping(1, stages, maxVUs), phases: phasesOf(stages), maxFailureRate: 0.01 };
    }
    case 'stress': {
      // Past the average: 1×, 2× and 3× the base rate, each held, to find where it bends.
      const rate = envNumber('RATE', 20);
      const peak = envNumber('PEAK_RATE', rate * 3);
      const ramp = envDurationMs('RAMP', '30s');
      const hold = envDurationMs('DURATION', '2m');
      const mid = Math.round((rate + peak) / 2);
      const stages: Stage[] = [
        { phase: 'ramp-up', durationMs: ramp, target: rate },
        { phase: 'base', durationMs: hold, target: rate },
        { phase: 'ramp-mid', durationMs: ramp, target: mid },
        { phase: 'mid', durationMs: hold, target: mid },
        { phase: 'ramp-peak', durationMs: ramp, target: peak },
        { phase: 'peak', durationMs: hold, target: peak },
        { phase: 'ramp-down', durationMs: ramp, target: 0 },
      ];
      return { scenario: ramping(1, stages, maxVUs), phases: phasesOf(stages), maxFailureRate: 0.05 };
    }
    case 'spike': {
      // A sudden jump from the base rate to a peak and back; degraded answers
      // (429, 503 + Retry-After) are expected at the top, failures are not.
      const rate = envNumber('RATE', 5);
      const peak = envNumber('PEAK_RATE', rate * 10);
      const base = envDurationMs('RAMP', '30s');
      const spike = envDurationMs('DURATION', '1m');
      const jump = Math.max(1_000, Math.round(base / 3));
      const stages: Stage[] = [
        { phase: 'before', durationMs: base, target: rate },
        { phase: 'spike', durationMs: jump, target: peak },
        { phase: 'spike', durationMs: spike, target: peak },
        { phase: 'drop', durationMs: jump, target: rate },
        { phase: 'after', durationMs: base, target: rate },
      ];
      const phases = mergeRepeated(stages);
      // After the spike the platform must be back to normal: few failures and
      // the steady latency budget, whatever happened at the top.
      const scale = envNumber('LATENCY_SCALE', 1);
      return {
        scenario: ramping(rate, stages, maxVUs),
        phases,
        maxFailureRate: 0.05,
        phaseThresholds: {
          'failures{phase:after}': ['rate<0.01'],
          'http_req_duration{phase:after}': [`p(95)<${300 * scale}`],
        },
      };
    }
    case 'soak': {
      const rate = envNumber('RATE', 10);
      const durationMs = envDurationMs('DURATION', '15m');
      return constant(
        rate,
        durationMs,
        { preAllocated: Math.max(2, Math.ceil(rate / 4)), max: maxVUs },
        0.005,
      );
    }
  }
}

function mergeRepeated(stages: readonly Stage[]): string {
  const merged: { phase: string; durationMs: number }[] = [];
  for (const s of stages) {
    const last = merged[merged.length - 1];
    if (last?.phase === s.phase) last.durationMs += s.durationMs;
    else merged.push({ phase: s.phase, durationMs: s.durationMs });
  }
  return merged.map((s) => `${s.phase}:${formatDuration(s.durationMs)}`).join(',');
}

/** Latency budgets per route, in ms (p95, p99), scaled by `LATENCY_SCALE` (default 1). */
export const LATENCY_BUDGET_MS = {
  shop_page: [200, 500],
  catalog_list: [300, 800],
  catalog_product: [250, 600],
  orders_create: [500, 1500],
  orders_get: [250, 600],
} as const;

/** The routes a shop journey calls (see journey.ts); smoke adds `shop_page`. */
export const JOURNEY_ROUTES: readonly LatencyRoute[] = [
  'catalog_list',
  'catalog_product',
  'orders_create',
  'orders_get',
];

export type LatencyRoute = keyof typeof LATENCY_BUDGET_MS;

/**
 * Thresholds shared by the load scripts: failure share, checks, and p95/p99
 * per route. A route that got no requests (say, no order in a very short run)
 * passes its thresholds: k6 evaluates them on empty data as met.
 */
export function loadThresholds(
  p: Profile,
  routes: readonly LatencyRoute[] = JOURNEY_ROUTES,
): Record<string, string[]> {
  const scale = envNumber('LATENCY_SCALE', 1);
  const maxFailure = envNumber('MAX_FAILURE_RATE', p.maxFailureRate);
  const thresholds: Record<string, string[]> = {
    failures: [`rate<${maxFailure}`],
    checks: ['rate>0.99'],
  };
  for (const route of routes) {
    const [p95, p99] = LATENCY_BUDGET_MS[route];
    thresholds[`http_req_duration{route:${route}}`] = [`p(95)<${p95 * scale}`, `p(99)<${p99 * scale}`];
    thresholds[`failures{route:${route}}`] = [`rate<${maxFailure}`];
  }
  Object.assign(thresholds, p.phaseThresholds);
  if (env('ABORT_ON_FAIL') === 'true') {
    // Stop early once failures are clearly over budget (after 10 s of data).
    thresholds.failures = [
      { threshold: `rate<${maxFailure}`, abortOnFail: true, delayAbortEval: '10s' },
    ] as never;
  }
  return thresholds;
}
