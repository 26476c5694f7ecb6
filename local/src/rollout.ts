/**
 * `rollout <service>`: a Deployment's RollingUpdate for one supervisor. Every
 * instance is replaced by a new process (a fresh name, `<service>-<n+1>`, as
 * a new Pod gets a new name), at most `maxSurge` above and `maxUnavailable`
 * below the replica count at any time, resolved as Kubernetes does: a
 * percentage of the replicas, surge rounded up, unavailable rounded down
 * (defaults 25 % / 25 %: 1 and 0 for 2-3 replicas, so one new instance
 * starts, becomes ready, then one old one drains — one at a time); if both
 * come to 0, maxUnavailable becomes 1 (Kubernetes' ResolveFenceposts).
 *
 * Each round, like the Deployment controller's reconcile: remove as many old
 * instances as the ready count allows and start as many new ones as the
 * surge allows, then wait for those starts (ready = the readiness probe
 * passed, then listed ready in the endpoints file) and drains. An old
 * instance leaves by the same drain as `scale` (scaling.ts): out of the
 * endpoints file first — callers stop picking it within milliseconds — a
 * grace period for the tries in flight, then SIGTERM (the service's own
 * graceful shutdown finishes what it still holds). `drain: false` SIGKILLs it
 * instead while callers still list it for the grace period: what a Pod
 * without readiness gating and preStop would see (its endpoint leaves the
 * callers' lists only after it is gone), kept to show what the drain buys
 * (the rolling-deploy drill's broken variant).
 */
import { LocalError } from './errors.ts';

/** Kubernetes' defaults for a Deployment's RollingUpdate strategy. */
export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_MAX_UNAVAILABLE = '25%';

export interface RolloutOptions {
  /** Instances above the replica count during the rollout: a count or `N%` (default 25 %, rounded up). */
  maxSurge?: string | number;
  /** Instances below it: a count or `N%` (default 25 %, rounded down). */
  maxUnavailable?: string | number;
  /** Drain each old instance before it stops (default true); false SIGKILLs it. */
  drain?: boolean;
}

export interface RolloutStep {
  /** ms since the rollout began. */
  atMs: number;
  started: string[];
  removed: string[];
}

export interface RolloutPlan {
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
}

/** What the rollout needs from the supervisor (scaling.ts wires it). */
export interface RolloutDeps {
  /** The service's instances now, oldest first. */
  instances(): string[];
  /** Adds and starts a new instance; resolves with its name once it is ready. */
  startNew(): Promise<string>;
  /** Takes an old instance out: drained then SIGTERM, or SIGKILL while still listed when `drain` is false. */
  remove(name: string, drain: boolean): Promise<void>;
}

/** `25%` or `1` → a count for `replicas` instances, rounded up (surge) or down (unavailable). */
export function resolveIntOrPercent(
  value: string | number,
  replicas: number,
  roundUp: boolean,
  field: string,
): number {
  const text = String(value).trim();
  const match = /^(\d+)(%?)$/.exec(text);
  if (!match) {
    throw new LocalError(
      'LOCAL_ERR_BAD_INPUT',
      `${field} must be a whole number or a percentage such as 25% (got "${text}")`,
    );
  }
  const n = Number(match[1]);
  if (!match[2]) return n;
  if (n > 100) throw new LocalError('LOCAL_ERR_BAD_INPUT', `${field} must be at most 100% (got "${text}")`);
  const exact = (n * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The surge and unavailability for `replicas` instances (never both 0). */
export function resolvePlan(replicas: number, options: RolloutOptions = {}): RolloutPlan {
  const maxSurge = resolveIntOrPercent(options.maxSurge ?? DEFAULT_MAX_SURGE, replicas, true, '--max-surge');
  let maxUnavailable = resolveIntOrPercent(
    options.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE,
    replicas,
    false,
    '--max-unavailable',
  );
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { replicas, maxSurge, maxUnavailable };
}

/** Replaces every current instance; resolves with the plan and the rounds it took. */
export async function rollOut(
  deps: RolloutDeps,
  plan: RolloutPlan,
  drain = true,
): Promise<{ steps: RolloutStep[]; started: string[]; removed: string[] }> {
  const t0 = Date.now();
  const old = deps.instances();
  const fresh: string[] = [];
  const removed: string[] = [];
  const steps: RolloutStep[] = [];
  const { replicas, maxSurge, maxUnavailable } = plan;
  // Each round starts or removes at least one instance, so 2 × replicas + 2 rounds always suffice.
  for (let round = 0; round < 2 * replicas + 2 && old.length > 0; round++) {
    // Every instance counted here is ready: new ones count once their start resolved.
    const ready = old.length + fresh.length;
    const toRemove = Math.max(0, Math.min(old.length, ready - (replicas - maxUnavailable)));
    // As the Deployment controller lowers the old ReplicaSet at once, a leaving instance no
    // longer counts against the surge: its replacement starts while it drains.
    const toStart = Math.max(0, Math.min(replicas + maxSurge - (ready - toRemove), replicas - fresh.length));
    const leaving = old.splice(0, toRemove);
    const results = await Promise.allSettled([
      ...Array.from({ length: toStart }, () => deps.startNew()),
      ...leaving.map((name) => deps.remove(name, drain).then(() => name)),
    ]);
    const startedNow = results.slice(0, toStart).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    fresh.push(...startedNow);
    removed.push(...leaving);
    steps.push({ atMs: Date.now() - t0, started: startedNow, removed: leaving });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // As a Deployment whose new Pods never become ready: the rollout stops where it is.
      throw new LocalError(
        'LOCAL_ERR_BAD_STATE',
        `rollout stopped after ${removed.length} of ${replicas} old instances were replaced: ${(failed.reason as Error).message ?? String(failed.reason)}`,
        { cause: failed.reason },
      );
    }
  }
  return { steps, started: fresh, removed };
}
