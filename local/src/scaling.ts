/**
 * `scale <service> <n>`: what a Deployment's replica count does, for one
 * supervisor. New instances start (each on its own port; gateways share
 * theirs), become ready and join the endpoints file. Removed ones — the
 * highest numbers first — drain: marked not ready in the endpoints file so
 * callers send them nothing new, a grace period for the tries already in
 * flight, then SIGTERM (the service's own graceful shutdown finishes what it
 * still holds), then they leave the supervisor.
 */
import type { EndpointsFiles } from './endpoints-files.ts';
import { LocalError } from './errors.ts';
import type { ProcessStatus } from './managed-process.ts';
import type { Platform } from './platform.ts';
import { checkReplicas, instanceIndex } from './replicas.ts';
import { type RolloutOptions, type RolloutPlan, type RolloutStep, resolvePlan, rollOut } from './rollout.ts';
import type { Supervisor } from './supervisor.ts';

/** Time between "not ready" in the endpoints file and SIGTERM: callers re-read the file within milliseconds. */
export const DRAIN_GRACE_MS = 1_000;

export interface ScaleResult {
  service: string;
  replicas: number;
  started: string[];
  removed: string[];
  processes: ProcessStatus[];
}

export interface RolloutResult extends RolloutPlan {
  service: string;
  drained: boolean;
  started: string[];
  removed: string[];
  steps: RolloutStep[];
  processes: ProcessStatus[];
}

export interface Scaler {
  scale(service: string, replicas: number | string): Promise<ScaleResult>;
  rollout(service: string, options?: RolloutOptions): Promise<RolloutResult>;
}

export function createScaler(
  supervisor: Supervisor,
  platform: Pick<Platform, 'discovery' | 'newInstance'>,
  endpoints: EndpointsFiles | undefined,
  drainGraceMs = DRAIN_GRACE_MS,
): Scaler {
  // One change per service at a time (two overlapping ones would pick the same new names);
  // different services change side by side, as two Deployments roll out at once.
  const queues = new Map<string, Promise<unknown>>();

  const instances = (service: string) =>
    supervisor.processes
      .filter((p) => p.spec.service === service)
      .sort((a, b) => (instanceIndex(service, a.name) ?? 0) - (instanceIndex(service, b.name) ?? 0));

  /**
   * Drained (out of the endpoints file, grace, SIGTERM) or, with `drain`
   * false, SIGKILLed while the endpoints file still lists it for the same
   * grace (as a Pod without readiness gating or preStop: its endpoint leaves
   * every caller's list only after it is gone); then forgotten.
   */
  async function drainAndRemove(name: string, drain = true): Promise<void> {
    if (drain) {
      endpoints?.drain(name);
      await new Promise((r) => setTimeout(r, drainGraceMs));
      await supervisor.act(name, 'stop');
    } else {
      endpoints?.listAfterStop(name, drainGraceMs);
      await supervisor.act(name, 'kill');
      await new Promise((r) => setTimeout(r, drainGraceMs));
    }
    supervisor.remove(name);
    endpoints?.forget(name);
  }

  /** The next instance name: above every instance running now and every one this scaler started (as a new Pod's name). */
  const highest = new Map<string, number>();
  function nextName(service: string): string {
    const current = instances(service).map((p) => instanceIndex(service, p.name) ?? 1);
    const n = Math.max(highest.get(service) ?? 0, ...current) + 1;
    highest.set(service, n);
    return `${service}-${n}`;
  }

  /** Adds and starts one instance; resolves once it is ready (and so listed ready in the endpoints file). */
  async function startNew(service: string): Promise<string> {
    const name = nextName(service);
    const p = supervisor.add(await platform.newInstance(service, name));
    try {
      await supervisor.act(p.name, 'start');
    } catch (err) {
      await supervisor.act(p.name, 'stop').catch(() => {});
      if (p.pid === undefined) supervisor.remove(p.name);
      throw err;
    }
    return name;
  }

  /** The service's instances, refusing a service that does not run or cannot change without discovery. */
  function changeable(service: string, what: string) {
    const current = instances(service);
    if (!current.length) {
      throw new LocalError('LOCAL_ERR_NOT_FOUND', `${service} does not run in this run: nothing to ${what}`);
    }
    const kind = current[0]?.spec.kind;
    if (kind === 'service' && !platform.discovery) {
      throw new LocalError(
        'LOCAL_ERR_BAD_STATE',
        `this run has no discovery (callers know one URL per service): restart it with --discovery or --replicas to ${what} ${service}`,
      );
    }
    return current;
  }

  async function scaleNow(service: string, replicas: number | string): Promise<ScaleResult> {
    const n = checkReplicas(service, replicas);
    const current = changeable(service, 'scale');
    const started: string[] = [];
    const removed: string[] = [];
    if (n > current.length) {
      // Ready before they join: the endpoints file lists them ready once start() resolves.
      const names = await Promise.all(Array.from({ length: n - current.length }, () => startNew(service)));
      started.push(...names);
    } else if (n < current.length) {
      const victims = current.slice(n).map((p) => p.name);
      await Promise.all(victims.map((v) => drainAndRemove(v)));
      removed.push(...victims);
    }
    return { service, replicas: n, started, removed, processes: instances(service).map((p) => p.status()) };
  }

  async function rolloutNow(service: string, options: RolloutOptions): Promise<RolloutResult> {
    const current = changeable(service, 'roll out');
    const plan = resolvePlan(current.length, options);
    const drained = options.drain !== false;
    const { steps, started, removed } = await rollOut(
      {
        instances: () => instances(service).map((p) => p.name),
        startNew: () => startNew(service),
        remove: drainAndRemove,
      },
      plan,
      drained,
    );
    return {
      service,
      ...plan,
      drained,
      started,
      removed,
      steps,
      processes: instances(service).map((p) => p.status()),
    };
  }

  function queued<T>(service: string, work: () => Promise<T>): Promise<T> {
    const run = (queues.get(service) ?? Promise.resolve()).then(work);
    queues.set(
      service,
      run.catch(() => {}),
    );
    return run;
  }

  return {
    scale: (service, replicas) => queued(service, () => scaleNow(service, replicas)),
    rollout: (service, options = {}) => queued(service, () => rolloutNow(service, options)),
  };
}
