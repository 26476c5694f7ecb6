/**
 * `defineDrill`: one drill from its parts — the phase lengths, the traffic,
 * the hypotheses (thresholds per phase and route), the processes and probe
 * of the steady-state gate, the fault steps and the recovery probe. It
 * returns what k6 needs as named exports of the script, which re-exports
 * them explicitly:
 *
 * ```ts
 * const drill = defineDrill({ … });
 * export const { options, setup, chaos, teardown } = drill;
 * export const shop = shopTraffic();
 * ```
 *
 * The traffic functions (named by the keys of `traffic`) stay in the script.
 */

import type { Options, Scenario } from 'k6/options';
import type { RouteName } from '../../lib/shop-api.ts';
import {
  type BreakerWatch,
  drillOptions,
  drillThresholds,
  type FaultStep,
  type Hypothesis,
  PHASES,
  raiseLimits,
  rate,
  runSchedule,
  type Schedule,
  type ScheduleHooks,
  type ScheduleSpec,
  schedule,
  steadyTraffic,
  totalMs,
  undoAll,
  usePhaseSchedule,
} from './drill.ts';
import { isShort, requireSteadyState } from './traffic.ts';

/**
 * The short form (CI) runs its constant traffic this many times faster than
 * the full drill (`RATE` still overrides): its phases are a third as long,
 * and the runner says INCONCLUSIVE instead of PASS for a row judged over too
 * few requests (a p99 over fewer than 100, a rate over fewer than 50 —
 * local/src/drill/verdict.ts). Measured on catalog-latency: 6 journeys/s
 * left every steady row and every orders row under-sampled; at 2.5× (and
 * SHORT_ORDER_SHARE) each row has enough, and the latencies did not move.
 */
export const SHORT_RATE_FACTOR = 2.5;

/** The full schedule most drills use: 20 s steady, 30 s fault, 30 s recovery. */
export const FULL_PHASES: ScheduleSpec = { steady: '20s', fault: '30s', recovery: '30s' };

/** The routes a drill journey (`drillJourney`) calls; `shopTraffic({ readBack: true })` adds `orders_get`. */
export const JOURNEY_ROUTES = ['catalog_list', 'catalog_product', 'orders_create'] as const;

/**
 * Catalog reads answer within the gateway's deadline while catalog is
 * faulty (per-try 800 ms, deadline 2 s: p99 < 2.1 s), after a steady phase
 * in which they are served (≥ 99.5 %).
 */
export function catalogWithinDeadline(): Hypothesis[] {
  return (['catalog_list', 'catalog_product'] as const).flatMap((route): Hypothesis[] => [
    { metric: 'served', phase: 'steady', route, threshold: 'rate>=0.995' },
    { metric: 'http_req_duration', phase: 'fault', route, threshold: 'p(99)<2100' },
  ]);
}

export interface DrillDefinition {
  /**
   * Phase lengths: `full` (default {@link FULL_PHASES}), or `short` with
   * `SHORT=true` (CI); STEADY/FAULT/RECOVERY override either.
   */
  readonly phases: { readonly full?: ScheduleSpec; readonly short: ScheduleSpec };
  /**
   * Traffic scenarios by the name of the script's exported function: a number
   * is a constant arrival rate (journeys/s, `RATE` overrides) over the whole
   * schedule; a function builds any other scenario from the schedule.
   */
  readonly traffic: Record<string, number | ((s: Schedule) => Scenario)>;
  /** The routes whose phase × route numbers the summary carries (the verdict table's rows). */
  readonly routes: readonly RouteName[];
  /** Tags those rows are also filtered by (e.g. `consumer: 'bob'`). */
  readonly routeTags?: Record<string, string>;
  readonly hypotheses: readonly Hypothesis[];
  /** More thresholds (extra counters, other consumers' rows), added as they are. */
  readonly thresholds?: Record<string, string[]>;
  /** time_to_recover must stay under this, ms. */
  readonly maxTimeToRecoverMs: number;
  /** Processes the steady-state gate requires running. */
  readonly needs: readonly string[];
  /** The steady-state probe: must hold before any fault. */
  readonly steadyState: () => boolean;
  /**
   * Lease of alice's rate-limit headroom beyond the run, ms (default 120 000);
   * `false`: no headroom (the drill is about alice's real limit).
   */
  readonly headroomMs?: number | false;
  /** The fault steps, from the schedule (offsets are ms into the fault phase). */
  readonly faults: readonly FaultStep[] | ((s: Schedule) => readonly FaultStep[]);
  /** The recovery probe: time to recover ends when it holds after the fault. */
  readonly recovered: () => boolean;
  /** Hooks around the fault window, made afresh for the chaos VU's run. */
  readonly hooks?: () => ScheduleHooks;
  /**
   * Watch a gateway breaker after the fault: it must have opened
   * (`breaker_opened`) and be closed on every gateway within `maxRecoveryMs`
   * of the fault's end (`breaker_recovery_ms`).
   */
  readonly breaker?: BreakerWatch & { readonly maxRecoveryMs: number };
}

/** What every drill must show once the fault is over (from 1 s after its end): served ≥ 99 % on every route. */
export const RECOVERY_SERVED = 'rate>=0.99';

export interface Drill {
  readonly schedule: Schedule;
  readonly options: Options;
  /** The steady-state gate (and the headroom preparation). */
  readonly setup: () => void;
  /** The chaos VU: inject on the schedule, undo at the fault's end, measure time to recover. */
  readonly chaos: () => void;
  /** Undoes every fault of the drill. */
  readonly teardown: () => void;
}

/** Call in the init context, before building the traffic's clients (it installs the response callback). */
export function defineDrill(d: DrillDefinition): Drill {
  const s = schedule(d.phases.full ?? FULL_PHASES, d.phases.short);
  usePhaseSchedule(s);
  const traffic = Object.fromEntries(
    Object.entries(d.traffic).map(([exec, t]) => [
      exec,
      typeof t === 'number'
        ? steadyTraffic(exec, rate(isShort() ? Math.ceil(t * SHORT_RATE_FACTOR) : t), s)
        : t(s),
    ]),
  );
  const options = drillOptions({
    schedule: s,
    traffic,
    thresholds: {
      ...drillThresholds(
        [
          ...d.hypotheses,
          ...d.routes.map(
            (route): Hypothesis => ({
              metric: 'served',
              phase: 'recovery',
              route,
              ...(d.routeTags ? { tags: d.routeTags } : {}),
              threshold: RECOVERY_SERVED,
            }),
          ),
        ],
        d.routes,
        d.routeTags,
      ),
      ...d.thresholds,
      time_to_recover: [`max<${d.maxTimeToRecoverMs}`],
      recovered: ['rate==1'],
      ...(d.breaker
        ? {
            breaker_recovery_ms: [`max<${d.breaker.maxRecoveryMs}`],
            breaker_opened: ['rate==1'],
          }
        : {}),
    },
  });
  const headroomMs = d.headroomMs ?? 120_000;
  const steps = typeof d.faults === 'function' ? d.faults(s) : d.faults;
  return {
    schedule: s,
    options,
    setup: () =>
      requireSteadyState(d.needs, d.steadyState, () => {
        if (headroomMs !== false) raiseLimits(totalMs(s) + headroomMs);
      }),
    chaos: () => runSchedule(s, steps, d.recovered, d.hooks?.(), d.breaker),
    teardown: undoAll,
  };
}

/** Some `degraded` answers of this kind (tags: `reason`, …) were seen on `route` during the fault. */
export function degradedInFault(route: RouteName, tags: Record<string, string>): Hypothesis {
  return { metric: 'degraded', phase: 'fault', route, tags, threshold: 'count>0' };
}

/** The same hypothesis for each route in every phase (steady, fault, recovery). */
export function everyPhase(
  routes: readonly RouteName[],
  h: Omit<Hypothesis, 'phase' | 'route'>,
): Hypothesis[] {
  return PHASES.flatMap((phase) => routes.map((route): Hypothesis => ({ ...h, phase, route })));
}
