/**
 * Drill phases by elapsed time. A schedule is written as
 * `PHASES=warmup:10s,fault:30s,recovery:30s`; the phase a request belongs to
 * is the one whose slot holds the test's elapsed time, and every request and
 * outcome metric is tagged `phase:<name>` so thresholds can be stated per phase
 * (`failures{phase:fault}`). Past the last slot the last phase continues.
 */

import exec from 'k6/execution';
import { env } from './config.ts';
import { parseDuration } from './duration.ts';

export interface Phase {
  readonly name: string;
  /** Start, in ms since the test began. */
  readonly startMs: number;
  readonly durationMs: number;
}

export function parsePhases(spec: string): Phase[] {
  const phases: Phase[] = [];
  let startMs = 0;
  for (const part of spec.split(',')) {
    const [name, duration] = part.split(':').map((s) => s.trim());
    if (!name || !duration) throw new Error(`PHASES: "${part}" is not name:duration`);
    const durationMs = parseDuration(duration, `PHASES ${name}`);
    phases.push({ name, startMs, durationMs });
    startMs += durationMs;
  }
  return phases;
}

export function phaseAt(phases: readonly Phase[], elapsedMs: number): string {
  let current = phases[0]?.name ?? 'steady';
  for (const phase of phases) if (elapsedMs >= phase.startMs) current = phase.name;
  return current;
}

/** The schedule from `PHASES`, or `fallback` (a single `steady` phase by default). */
export function phasesFromEnv(fallback = 'steady:1h'): Phase[] {
  return parsePhases(env('PHASES') ?? fallback);
}

let schedule: Phase[] | undefined;

/**
 * Sets the schedule a script's stages imply (call in the init context);
 * `PHASES` from the environment still wins.
 */
export function usePhases(spec: string): void {
  schedule = phasesFromEnv(spec);
}

/**
 * ms on the schedule's clock: since the scenarios began, after `setup()`.
 * k6's `currentTestRunDuration` counts `setup()` too (a drill's steady-state
 * gate and cache warming, 2–3 s), which took that much traffic off a short
 * drill's 8–10 s steady phase. A scenario that starts later adds its
 * `startTime`; outside any scenario (setup, teardown) the test's clock is
 * all there is.
 */
export function scheduleElapsedMs(): number {
  let scenario: { name: string; startTime: number } | undefined;
  try {
    scenario = exec.scenario;
  } catch {
    scenario = undefined; // setup() and teardown() run in no scenario
  }
  if (!scenario?.name) return exec.instance.currentTestRunDuration;
  const offset = exec.test.options.scenarios?.[scenario.name]?.startTime;
  return Date.now() - scenario.startTime + (offset ? parseDuration(String(offset), 'startTime') : 0);
}

/** The current phase, for tagging; reads the schedule on first use. */
export function currentPhase(): string {
  schedule ??= phasesFromEnv();
  return phaseAt(schedule, scheduleElapsedMs());
}
