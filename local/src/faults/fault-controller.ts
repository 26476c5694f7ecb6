/**
 * The fault controller: injects faults into the running platform and undoes
 * them. Every fault is recorded with its start and end time and an undo
 * action, so a drill (or its runner, or the lease timer when both are gone)
 * can always put the platform back:
 *
 * | kind      | inject                                             | undo                               |
 * |-----------|----------------------------------------------------|------------------------------------|
 * | `process` | `kill` / `pause` / `stop` a process by name        | `start` / `resume` / `start`       |
 * | `restart` | restart processes one at a time (rolling)          | `start` any left down              |
 * | `rollout` | services' instances replaced, side by side (rollout.ts) | nothing: the new instances stay |
 * | `mesh`    | delay/abort rules in a service's fault filter      | the service's remaining rules (PUT) or DELETE |
 * | `limit`   | a live rate-limit override on the gateway          | DELETE the override                |
 *
 * A target is one process (`catalog-2`) or a service's name, which addresses
 * every instance of it (`catalog` → catalog-1, catalog-2, catalog-3), as
 * `npm run local -- kill catalog` does.
 *
 * A fault has a lease (`maxDurationMs`, default 120 s): if nobody undoes it
 * by then, the controller does, so a drill runner killed with SIGKILL cannot
 * leave payments down for good.
 */
import { randomUUID } from 'node:crypto';
import type { ProcessStatus } from '../managed-process.ts';
import { addressableNames, addressed } from '../replicas.ts';
import type { ProcessAction } from '../supervisor.ts';

/** What the controller needs from the supervisor (in process or over the control API). */
export interface ProcessControl {
  act(name: string, action: ProcessAction): Promise<ProcessStatus>;
  status(): ProcessStatus[] | Promise<ProcessStatus[]>;
}

/** One rule of the mesh fault filter (mesh/README.md, "Fault filter"). */
export interface MeshFaultRule {
  id?: string;
  match?: { method?: string; route?: string; pathPrefix?: string };
  delay?: { percent: number; ms: number };
  abort?: { percent: number; status: number };
}

export type FaultSpec =
  | { kind: 'process'; target: string; action: 'kill' | 'pause' | 'stop' }
  | { kind: 'restart'; targets: string[] }
  | {
      kind: 'rollout';
      services: string[];
      maxSurge?: string | number;
      maxUnavailable?: string | number;
      drain?: boolean;
    }
  | { kind: 'mesh'; target: string; rules: MeshFaultRule[] }
  | { kind: 'limit'; policy: string; limits: { second?: number; minute?: number; hour?: number } };

export interface FaultRequest {
  /** The drill injecting it (label `drill` on bw_drill_fault_active). */
  drill?: string;
  /** A short name for the fault (label `fault`), default from the kind. */
  name?: string;
  /** Lease: undone automatically after this long (default 120 s, at most 15 min). */
  maxDurationMs?: number;
  /** A preparation (e.g. rate-limit headroom for the drill's own traffic), not a fault: undone like one, not exported as active. */
  preparation?: boolean;
  spec: FaultSpec;
}

export interface FaultRecord {
  id: string;
  drill: string;
  name: string;
  target: string;
  spec: FaultSpec;
  preparation: boolean;
  startedAt: string;
  endedAt?: string;
  /** Why it ended: `undo`, `lease`, `undo-all`, or the error text when the undo failed. */
  endedBy?: string;
  undoError?: string;
}

const DEFAULT_LEASE_MS = 120_000; // 2 min
const MAX_LEASE_MS = 900_000; // 15 min
const ADMIN_TIMEOUT_MS = 5_000;

export class FaultError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = 'FaultError';
    this.status = status;
  }
}

interface Active {
  record: FaultRecord;
  undo: () => Promise<void>;
  lease: NodeJS.Timeout;
}

export interface FaultControllerOptions {
  processes: ProcessControl;
  /** BW_ADMIN_TOKEN / GATEWAY_ADMIN_TOKEN of the run. */
  adminToken: string;
  /** Rolls one service out (the supervisor's scaler); without it the `rollout` kind is refused. */
  rollout?: (
    service: string,
    options: { maxSurge?: string | number; maxUnavailable?: string | number; drain?: boolean },
  ) => Promise<unknown>;
  /** Told about every inject and undo (one line each). */
  log?: (line: string) => void;
}

function targetOf(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'process':
    case 'mesh':
      return spec.target;
    case 'restart':
      return spec.targets.join(',');
    case 'rollout':
      return spec.services.join(',');
    case 'limit':
      return `gateway:${spec.policy}`;
  }
}

function defaultName(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'process':
      return spec.action;
    case 'restart':
      return 'rolling-restart';
    case 'rollout':
      return spec.drain === false ? 'rollout-no-drain' : 'rollout';
    case 'mesh':
      return spec.rules.some((r) => r.abort) ? 'abort' : 'delay';
    case 'limit':
      return 'rate-limit';
  }
}

export class FaultController {
  readonly #processes: ProcessControl;
  readonly #token: string;
  readonly #log: (line: string) => void;
  readonly #rollout: FaultControllerOptions['rollout'];
  readonly #active = new Map<string, Active>();
  readonly #history: FaultRecord[] = [];
  /** Mesh rules in force per service, by fault id: a PUT always sends all of them. */
  readonly #meshRules = new Map<string, Map<string, MeshFaultRule[]>>();

  constructor(options: FaultControllerOptions) {
    this.#processes = options.processes;
    this.#token = options.adminToken;
    this.#log = options.log ?? (() => {});
    this.#rollout = options.rollout;
  }

  /** Faults in force now. */
  active(): FaultRecord[] {
    return [...this.#active.values()].map((a) => ({ ...a.record }));
  }

  /** Every fault since start, newest last (at most the last 500). */
  history(): FaultRecord[] {
    return this.#history.map((r) => ({ ...r }));
  }

  async inject(request: FaultRequest): Promise<FaultRecord> {
    const spec = validate(request.spec);
    const lease = request.maxDurationMs ?? DEFAULT_LEASE_MS;
    if (!Number.isFinite(lease) || lease <= 0 || lease > MAX_LEASE_MS) {
      throw new FaultError(`maxDurationMs must be in 1..${MAX_LEASE_MS}`);
    }
    const record: FaultRecord = {
      id: randomUUID(),
      drill: request.drill ?? 'manual',
      name: request.name ?? defaultName(spec),
      target: targetOf(spec),
      spec,
      preparation: request.preparation === true,
      startedAt: new Date().toISOString(),
    };
    const undo = await this.#apply(record.id, spec);
    const timer = setTimeout(() => void this.undo(record.id, 'lease').catch(() => {}), lease);
    timer.unref();
    this.#active.set(record.id, { record, undo, lease: timer });
    this.#history.push(record);
    if (this.#history.length > 500) this.#history.shift();
    this.#log(`fault ${record.name} on ${record.target} injected (drill ${record.drill}, id ${record.id})`);
    return { ...record };
  }

  /** Undoes one fault; unknown or already-undone ids are a 404. */
  async undo(id: string, by = 'undo'): Promise<FaultRecord> {
    const active = this.#active.get(id);
    if (!active) throw new FaultError(`no active fault ${id}`, 404);
    this.#active.delete(id);
    clearTimeout(active.lease);
    try {
      await active.undo();
    } catch (err) {
      active.record.undoError = (err as Error).message;
    }
    active.record.endedAt = new Date().toISOString();
    active.record.endedBy = by;
    this.#log(
      `fault ${active.record.name} on ${active.record.target} undone (${by}${active.record.undoError ? `, failed: ${active.record.undoError}` : ''})`,
    );
    return { ...active.record };
  }

  /** Undoes every active fault (of one drill when given), newest first. */
  async undoAll(drill?: string, by = 'undo-all'): Promise<FaultRecord[]> {
    const ids = [...this.#active.values()]
      .filter((a) => drill === undefined || a.record.drill === drill)
      .map((a) => a.record.id)
      .reverse();
    const out: FaultRecord[] = [];
    for (const id of ids) out.push(await this.undo(id, by));
    return out;
  }

  /** Prometheus text: `bw_drill_fault_active{drill,fault,target}` 1 while active, 0 after. */
  metrics(): string {
    const lines = [
      '# HELP bw_drill_fault_active Set to 1 while a drill injects a fault (kill, pause, latency, errors, cut), 0 after; dashboards shade these windows.',
      '# TYPE bw_drill_fault_active gauge',
    ];
    const seen = new Map<string, number>();
    for (const r of this.#history) {
      if (r.preparation) continue;
      const key = `drill="${esc(r.drill)}",fault="${esc(r.name)}",target="${esc(r.target)}"`;
      seen.set(key, Math.max(seen.get(key) ?? 0, r.endedAt === undefined ? 1 : 0));
    }
    for (const [labels, value] of seen) lines.push(`bw_drill_fault_active{${labels}} ${value}`);
    return `${lines.join('\n')}\n`;
  }

  /** The processes `target` addresses: itself, or every instance of a service; 404 naming the valid ones. */
  async #resolve(target: string): Promise<ProcessStatus[]> {
    const all = await this.#processes.status();
    const names = addressed(
      target,
      all.map((p) => p.name),
    );
    if (!names.length) {
      throw new FaultError(
        `unknown process "${target}": choose one of ${addressableNames(all.map((p) => p.name)).join(', ')}`,
        404,
      );
    }
    return all.filter((p) => names.includes(p.name));
  }

  /** The statuses of `names` now (an instance removed since is left out). */
  async #statuses(names: readonly string[]): Promise<ProcessStatus[]> {
    return (await this.#processes.status()).filter((p) => names.includes(p.name));
  }

  async #apply(id: string, spec: FaultSpec): Promise<() => Promise<void>> {
    switch (spec.kind) {
      case 'process': {
        const names = (await this.#resolve(spec.target)).map((p) => p.name);
        await Promise.all(names.map((n) => this.#processes.act(n, spec.action)));
        const back: ProcessAction = spec.action === 'pause' ? 'resume' : 'start';
        return async () => {
          for (const now of await this.#statuses(names)) {
            if (back === 'resume' && now.state === 'paused') await this.#processes.act(now.name, 'resume');
            else if (back === 'start' && now.state !== 'running' && now.state !== 'starting')
              await this.#processes.act(now.name, 'start');
          }
        };
      }
      case 'restart': {
        // One at a time, in the order given; a service name expands to its instances in place.
        const names: string[] = [];
        for (const t of spec.targets) names.push(...(await this.#resolve(t)).map((p) => p.name));
        const undo = async () => {
          for (const now of await this.#statuses(names)) {
            if (now.state !== 'running' && now.state !== 'starting')
              await this.#processes.act(now.name, 'start');
          }
        };
        try {
          for (const n of names) await this.#processes.act(n, 'restart');
        } catch (err) {
          await undo().catch(() => {}); // a restart that failed halfway must not leave a process down
          throw err;
        }
        return undo;
      }
      case 'mesh': {
        const targets = await this.#resolve(spec.target);
        const bare = targets.find((p) => p.adminPort === undefined);
        if (bare) throw new FaultError(`${bare.name} has no admin port`, 409);
        // Rules are kept per instance: a fault on `catalog` and one on `catalog-2` add up on catalog-2.
        const applied: string[] = [];
        try {
          for (const p of targets) {
            const rules = this.#meshRules.get(p.name) ?? new Map<string, MeshFaultRule[]>();
            rules.set(id, spec.rules);
            this.#meshRules.set(p.name, rules);
            applied.push(p.name);
            await this.#putMesh(p.adminPort as number, rules);
          }
        } catch (err) {
          for (const n of applied) this.#meshRules.get(n)?.delete(id);
          throw err;
        }
        return async () => {
          for (const n of applied) this.#meshRules.get(n)?.delete(id);
          // A process may have restarted (and lost its rules), moved, or left (a rollout): ask again.
          for (const now of await this.#statuses(applied)) {
            const rules = this.#meshRules.get(now.name);
            if (rules && now.adminPort !== undefined && now.state === 'running')
              await this.#putMesh(now.adminPort, rules);
          }
        };
      }
      case 'rollout': {
        if (!this.#rollout) throw new FaultError('this run cannot roll out services', 409);
        const { kind: _k, services, ...options } = spec;
        for (const service of services) await this.#resolve(service);
        const rollout = this.#rollout;
        // Side by side, as two Deployments applied at once; the inject answers when all are
        // done, so the fault window is the rollout.
        await Promise.all(services.map((service) => rollout(service, options)));
        return async () => {};
      }
      case 'limit': {
        const gateway = await this.#gatewayAdminPort();
        await this.#admin(gateway, 'PUT', '/admin/limits', { policy: spec.policy, limits: spec.limits });
        return async () => {
          await this.#admin(await this.#gatewayAdminPort(), 'DELETE', `/admin/limits/${spec.policy}`);
        };
      }
    }
  }

  async #gatewayAdminPort(): Promise<number> {
    const all = await this.#processes.status();
    const gw = all.find((p) => p.kind === 'gateway' && p.state === 'running' && p.adminPort !== undefined);
    if (!gw?.adminPort) throw new FaultError('no running gateway to change limits on', 409);
    return gw.adminPort;
  }

  async #putMesh(port: number, rules: Map<string, MeshFaultRule[]>): Promise<void> {
    const all = [...rules.values()].flat();
    if (all.length === 0) await this.#admin(port, 'DELETE', '/admin/faults');
    else await this.#admin(port, 'PUT', '/admin/faults', { faults: all });
  }

  async #admin(port: number, method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok)
      throw new FaultError(
        `${method} ${path} on port ${port} answered ${res.status}: ${text.slice(0, 300)}`,
        502,
      );
    return text ? JSON.parse(text) : {};
  }
}

function esc(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Checks a spec from the API (JSON), naming the bad field. */
export function validate(input: unknown): FaultSpec {
  const spec = input as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null) throw new FaultError('spec: an object is required');
  const name = (field: string) => {
    const v = spec[field];
    if (typeof v !== 'string' || !NAME.test(v))
      throw new FaultError(`spec.${field}: a process name is required`);
    return v;
  };
  const names = (field: string, what: string) => {
    const v = spec[field];
    if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== 'string' || !NAME.test(t)))
      throw new FaultError(`spec.${field}: a non-empty list of ${what} names`);
    return v as string[];
  };
  switch (spec.kind) {
    case 'process': {
      const action = spec.action;
      if (action !== 'kill' && action !== 'pause' && action !== 'stop')
        throw new FaultError('spec.action: one of kill, pause, stop');
      return { kind: 'process', target: name('target'), action };
    }
    case 'restart':
      return { kind: 'restart', targets: names('targets', 'process') };
    case 'mesh': {
      const rules = spec.rules;
      if (!Array.isArray(rules) || rules.length === 0)
        throw new FaultError('spec.rules: a non-empty list of rules');
      return { kind: 'mesh', target: name('target'), rules: rules as MeshFaultRule[] };
    }
    case 'rollout': {
      const out: Extract<FaultSpec, { kind: 'rollout' }> = {
        kind: 'rollout',
        services: names('services', 'service'),
      };
      for (const field of ['maxSurge', 'maxUnavailable'] as const) {
        const v = spec[field];
        if (v === undefined) continue;
        if (typeof v !== 'number' && (typeof v !== 'string' || !/^\d+%?$/.test(v)))
          throw new FaultError(`spec.${field}: a count or a percentage such as "25%"`);
        out[field] = v;
      }
      if (spec.drain !== undefined) {
        if (typeof spec.drain !== 'boolean') throw new FaultError('spec.drain: true or false');
        out.drain = spec.drain;
      }
      return out;
    }
    case 'limit': {
      const policy = spec.policy;
      const limits = spec.limits;
      if (typeof policy !== 'string' || !NAME.test(policy))
        throw new FaultError('spec.policy: a policy name');
      if (typeof limits !== 'object' || limits === null) throw new FaultError('spec.limits: an object');
      return { kind: 'limit', policy, limits: limits as { second?: number; minute?: number } };
    }
    default:
      throw new FaultError('spec.kind: one of process, restart, rollout, mesh, limit');
  }
}
