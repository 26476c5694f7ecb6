/**
 * The supervisor: an ordered set of managed processes. Starts them tier by
 * tier (concurrently within a tier), stops them in reverse, and runs one
 * action on one process by name. It never restarts anything on its own.
 */
import { LocalError } from './errors.ts';
import { type Disposable, ManagedProcess, type ProcessSpec, type ProcessStatus } from './managed-process.ts';
import { assertPortFree } from './ports.ts';
import { addressableNames, addressed } from './replicas.ts';

export const PROCESS_ACTIONS = ['start', 'stop', 'kill', 'pause', 'resume', 'restart'] as const;
export type ProcessAction = (typeof PROCESS_ACTIONS)[number];

export function unknownProcess(name: string, valid: readonly string[]): LocalError {
  return new LocalError(
    'LOCAL_ERR_UNKNOWN_PROCESS',
    `unknown process "${name}": choose one of ${valid.length ? valid.join(', ') : '(none running)'}`,
  );
}

export interface SupervisorEvents {
  /** A process is about to start (and then `ready` or `failed`). */
  onStarting?: (name: string) => void;
  onReady?: (status: ProcessStatus, ms: number) => void;
  onFailed?: (name: string, err: unknown) => void;
}

/**
 * Supervisors with live children. One 'exit' hook for all of them: if the
 * process running a supervisor exits without stopping it (a test that throws
 * in beforeAll, process.exit), its children are SIGKILLed instead of orphaned.
 */
const liveSupervisors = new Set<Supervisor>();
let exitHookInstalled = false;

function trackLive(supervisor: Supervisor): void {
  liveSupervisors.add(supervisor);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of liveSupervisors) s.killAllNow();
  });
}

export class Supervisor {
  #processes: ManagedProcess[];
  readonly #byName: Map<string, ManagedProcess>;
  readonly #events: SupervisorEvents;
  readonly #listeners = new Set<(status: ProcessStatus) => void>();
  #closing = false;

  constructor(specs: readonly ProcessSpec[], events: SupervisorEvents = {}) {
    this.#processes = [];
    this.#byName = new Map();
    this.#events = events;
    for (const spec of specs) this.#adopt(spec);
  }

  /** Every process, in start-list order (instances added by `add` at the end of theirs). */
  get processes(): readonly ManagedProcess[] {
    return this.#processes;
  }

  #adopt(spec: ProcessSpec): ManagedProcess {
    if (this.#byName.has(spec.name)) {
      throw new LocalError('LOCAL_ERR_BAD_INPUT', `process names must be unique: ${spec.name} twice`);
    }
    const p = new ManagedProcess(spec);
    p.onChange((status) => {
      for (const listener of this.#listeners) listener(status);
    });
    this.#byName.set(p.name, p);
    this.#processes.push(p);
    return p;
  }

  /** Adds a process (a new instance of a service) without starting it. */
  add(spec: ProcessSpec): ManagedProcess {
    const p = this.#adopt(spec);
    // Next to its service's other instances, so status lists them together.
    const last = this.#processes.findLastIndex((x) => x !== p && x.spec.service === spec.service);
    if (spec.service !== undefined && last >= 0) {
      this.#processes.pop();
      this.#processes.splice(last + 1, 0, p);
    }
    for (const listener of this.#listeners) listener(p.status());
    return p;
  }

  /** Forgets a process that is stopped (a removed instance). */
  remove(name: string): void {
    const p = this.get(name);
    if (p.pid !== undefined)
      throw new LocalError('LOCAL_ERR_BAD_STATE', `cannot remove ${name}: it is ${p.state}`);
    this.#byName.delete(name);
    this.#processes = this.#processes.filter((x) => x !== p);
    for (const listener of this.#listeners) listener({ ...p.status(), state: 'stopped' });
  }

  names(): string[] {
    return this.processes.map((p) => p.name);
  }

  get(name: string): ManagedProcess {
    const found = this.#byName.get(name);
    if (!found) throw unknownProcess(name, this.names());
    return found;
  }

  status(): ProcessStatus[] {
    return this.processes.map((p) => p.status());
  }

  /** Called whenever any process changes state, is added or is removed. */
  onChange(listener: (status: ProcessStatus) => void): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  #tiers(): ManagedProcess[][] {
    const byTier = new Map<number, ManagedProcess[]>();
    for (const p of this.processes) {
      const tier = p.spec.tier ?? 0;
      byTier.set(tier, [...(byTier.get(tier) ?? []), p]);
    }
    return [...byTier.entries()].sort(([a], [b]) => a - b).map(([, ps]) => ps);
  }

  /** Every port (and admin port) must be free before anything is spawned. */
  async preflight(): Promise<void> {
    // Nothing runs yet, so a shared (SO_REUSEPORT) port is checked too — once.
    const checked = new Set<number>();
    for (const p of this.processes) {
      const { port, portHint, name, adminPort } = p.spec;
      if (adminPort)
        await assertPortFree(adminPort, `stop what uses it (admin port of ${name}), or pass --port-base N`);
      if (port === undefined || port === 0 || checked.has(port)) continue;
      checked.add(port);
      await assertPortFree(port, portHint ?? `stop what uses it (wanted by ${name}), or choose other ports`);
    }
  }

  async #startOne(p: ManagedProcess): Promise<void> {
    this.#events.onStarting?.(p.name);
    const t0 = Date.now();
    try {
      await p.start();
      this.#events.onReady?.(p.status(), Date.now() - t0);
    } catch (err) {
      this.#events.onFailed?.(p.name, err);
      throw err;
    }
  }

  /**
   * What must be ready before `p` starts: the non-optional processes of
   * lower tiers — all of them, or with `startAfter` only those it names (as
   * processes or services). Lower tiers only, so there is no cycle; optional
   * processes hold nothing up.
   */
  #prerequisites(p: ManagedProcess): ManagedProcess[] {
    const { startAfter, tier = 0 } = p.spec;
    const lower = this.processes.filter((x) => !x.spec.optional && (x.spec.tier ?? 0) < tier);
    if (startAfter === undefined) return lower;
    return lower.filter((x) => startAfter.includes(x.name) || startAfter.includes(x.spec.service ?? ''));
  }

  /**
   * Starts every process as soon as its prerequisites are ready (see
   * #prerequisites), so independent ones start side by side. On the first
   * failure nothing more starts, what is starting settles, everything
   * already started is stopped and the failure is thrown — unless
   * `keepGoing`, or the process is `optional`: then a process that failed
   * stays down, the rest start, and the failures are returned. With
   * `optionalInBackground` (`up`), optional processes still starting do not
   * hold up the return: `optionalStarts()` settles when they are done.
   */
  async startAll(options: { keepGoing?: boolean; optionalInBackground?: boolean } = {}): Promise<unknown[]> {
    await this.preflight();
    trackLive(this);
    const failures: { p: ManagedProcess; err: unknown }[] = [];
    let fatal: { reason: unknown } | undefined;
    const started = new Map<ManagedProcess, Promise<boolean>>();
    const startWhenReady = (p: ManagedProcess): Promise<boolean> => {
      let run = started.get(p);
      if (run) return run;
      run = Promise.all(this.#prerequisites(p).map(startWhenReady)).then(async (ok) => {
        if (fatal || this.#closing || (!options.keepGoing && ok.includes(false))) return false;
        try {
          await this.#startOne(p);
          return true;
        } catch (err) {
          failures.push({ p, err });
          if (!p.spec.optional && !options.keepGoing) fatal ??= { reason: err };
          return false;
        }
      });
      started.set(p, run);
      return run;
    };
    const runs = this.processes.map((p) => ({ p, run: startWhenReady(p) }));
    const optional = (f: { p: ManagedProcess }) => f.p.spec.optional === true;
    this.#optionalStarts = Promise.all(runs.filter(optional).map((x) => x.run)).then(() =>
      failures.filter(optional).map((f) => f.err),
    );
    const background = options.optionalInBackground === true;
    await Promise.all(runs.filter((x) => !(background && optional(x))).map((x) => x.run));
    if (fatal) {
      await this.stopAll();
      throw fatal.reason;
    }
    if (this.#closing) throw new LocalError('LOCAL_ERR_BAD_STATE', 'start-up interrupted: stopping');
    return failures.filter((f) => !(background && optional(f))).map((f) => f.err);
  }

  #optionalStarts: Promise<unknown[]> = Promise.resolve([]);

  /** Settles, once no optional process is starting, with the failures of those that did not start. */
  optionalStarts(): Promise<unknown[]> {
    return this.#optionalStarts;
  }

  /** Stops everything in reverse tier order (concurrently within a tier), gracefully then forcefully. */
  async stopAll(): Promise<void> {
    for (const tier of this.#tiers().reverse()) {
      await Promise.allSettled(tier.map((p) => p.stop()));
    }
    if (this.processes.every((p) => p.pid === undefined)) liveSupervisors.delete(this);
  }

  /** Runs one action on one process by name. */
  async act(name: string, action: ProcessAction): Promise<ProcessStatus> {
    const p = this.get(name);
    if (action === 'start' || action === 'restart') trackLive(this);
    switch (action) {
      case 'start':
        await p.start();
        break;
      case 'stop':
        await p.stop();
        break;
      case 'kill':
        await p.kill();
        break;
      case 'pause':
        p.pause();
        break;
      case 'resume':
        p.resume();
        break;
      case 'restart':
        await p.restart();
        break;
    }
    return p.status();
  }

  /**
   * Runs one action on a process, or on every instance of a service
   * (`catalog` → catalog-1, catalog-2, concurrently).
   */
  async actOn(target: string, action: ProcessAction): Promise<ProcessStatus[]> {
    const names = addressed(target, this.names());
    if (!names.length) throw unknownProcess(target, addressableNames(this.names()));
    return Promise.all(names.map((n) => this.act(n, action)));
  }

  /** No further tier starts after this (shutdown during start-up). */
  close(): void {
    this.#closing = true;
  }

  /**
   * After stopAll: SIGKILLs any group that still has a member (something a
   * child forked and left behind) and waits for them, up to `timeoutMs`.
   * Returns the names of processes that had leftovers.
   */
  async reapLeftovers(timeoutMs = 5_000): Promise<string[]> {
    const left = this.processes.filter((p) => p.groupAlive());
    for (const p of left) p.killNow();
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 500 && Date.now() < deadline && left.some((p) => p.groupAlive()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return left.map((p) => p.name);
  }

  /** Synchronous last resort ('exit' handler): SIGKILL every group. */
  killAllNow(): void {
    for (const p of this.processes) p.killNow();
  }
}
