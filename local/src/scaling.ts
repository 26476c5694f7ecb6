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

export interface Scaler {
  scale(service: string, replicas: number | string): Promise<ScaleResult>;
}

export function createScaler(
  supervisor: Supervisor,
  platform: Pick<Platform, 'discovery' | 'newInstance'>,
  endpoints: EndpointsFiles | undefined,
  drainGraceMs = DRAIN_GRACE_MS,
): Scaler {
  // One scale at a time: two overlapping ones would pick the same new names.
  let queue: Promise<unknown> = Promise.resolve();

  const instances = (service: string) =>
    supervisor.processes
      .filter((p) => p.spec.service === service)
      .sort((a, b) => (instanceIndex(service, a.name) ?? 0) - (instanceIndex(service, b.name) ?? 0));

  async function drainAndRemove(name: string): Promise<void> {
    endpoints?.drain(name);
    await new Promise((r) => setTimeout(r, drainGraceMs));
    await supervisor.act(name, 'stop');
    supervisor.remove(name);
    endpoints?.forget(name);
  }

  async function scaleNow(service: string, replicas: number | string): Promise<ScaleResult> {
    const n = checkReplicas(service, replicas);
    const current = instances(service);
    if (!current.length) {
      throw new LocalError('LOCAL_ERR_NOT_FOUND', `${service} does not run in this run: nothing to scale`);
    }
    const kind = current[0]?.spec.kind;
    if (kind === 'service' && !platform.discovery) {
      throw new LocalError(
        'LOCAL_ERR_BAD_STATE',
        `this run has no discovery (callers know one URL per service): restart it with --discovery or --replicas to scale ${service}`,
      );
    }
    const started: string[] = [];
    const removed: string[] = [];
    if (n > current.length) {
      let next = Math.max(...current.map((p) => instanceIndex(service, p.name) ?? 1)) + 1;
      const added = [];
      for (let i = current.length; i < n; i++) {
        const name = `${service}-${next++}`;
        added.push(supervisor.add(await platform.newInstance(service, name)));
        started.push(name);
      }
      // Ready before they join: the endpoints file lists them ready once start() resolves.
      await Promise.all(added.map((p) => supervisor.act(p.name, 'start')));
    } else if (n < current.length) {
      const victims = current.slice(n).map((p) => p.name);
      await Promise.all(victims.map(drainAndRemove));
      removed.push(...victims);
    }
    return { service, replicas: n, started, removed, processes: instances(service).map((p) => p.status()) };
  }

  return {
    scale(service, replicas) {
      const run = queue.then(() => scaleNow(service, replicas));
      queue = run.catch(() => {});
      return run;
    },
  };
}
