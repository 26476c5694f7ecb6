/**
 * One supervised child process: spawned in its own process group (so a signal
 * to the group reaches its children too, e.g. PostgreSQL's backends), output
 * appended to a log file, started only when its port is free, and ready only
 * when a real probe says so before a deadline. Stop is graceful then forceful;
 * kill, pause and resume signal the whole group. Nothing restarts on its own:
 * drills kill on purpose and expect the process to stay down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import path from 'node:path';
import { settlesWithin } from '@breakwater/mesh/timeout';
import type { RunAs } from './binaries.ts';
import { LocalError } from './errors.ts';
import { formatTail } from './logs.ts';
import { assertPortFree } from './ports.ts';
import type { ReadinessProbe } from './readiness.ts';
import { groupMembers } from './stale.ts';

export type ProcessKind =
  | 'redis'
  | 'postgres'
  | 'service'
  | 'gateway'
  | 'prometheus'
  | 'grafana'
  | 'zipkin'
  | 'other';

/** A process that exists, stopped, or has died ('down' keeps the exit code or signal). */
export type ProcessState = 'stopped' | 'starting' | 'running' | 'paused' | 'stopping' | 'down';

export interface ProcessSpec {
  readonly name: string;
  readonly kind: ProcessKind;
  /** The service it is an instance of (service and gateway processes). */
  readonly service?: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to (or, with inheritEnv false, instead of) the supervisor's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Default true. */
  readonly inheritEnv?: boolean;
  readonly cwd?: string;
  /** The port it listens on; checked free before each spawn unless `sharedPort`. */
  readonly port?: number;
  /** True for SO_REUSEPORT siblings (gateway-2 binds gateway-1's port). */
  readonly sharedPort?: boolean;
  /** What to do when the port is taken, for the error message. */
  readonly portHint?: string;
  readonly url?: string;
  /** Its loopback admin endpoint's port (BW_ADMIN_PORT / GATEWAY_ADMIN_PORT), for the fault controller. */
  readonly adminPort?: number;
  /** The port Prometheus scrapes its /metrics on (scrape-targets.ts); none when it exports none. */
  readonly metricsPort?: number;
  readonly logFile: string;
  readonly runAs?: RunAs;
  readonly ready: ReadinessProbe;
  /** Default 30_000 (30 s). */
  readonly readyTimeoutMs?: number;
  /** Signal for a graceful stop; default SIGTERM (PostgreSQL: SIGINT, its fast shutdown). */
  readonly stopSignal?: NodeJS.Signals;
  /** Grace before SIGKILL on stop; default 10_000 (10 s). */
  readonly stopTimeoutMs?: number;
  /**
   * Stop order: higher tiers stop first, lower tiers last. Also the start
   * order of a process without `startAfter`: it starts once every
   * non-optional process of a lower tier is ready. Default 0.
   */
  readonly tier?: number;
  /**
   * What must be ready before this process starts (process or service
   * names; names this supervisor does not run are ignored, so `--only`
   * works). Set, it replaces the tier rule for the start: a service waits
   * for its own Redis and database, not for every process of lower tiers.
   */
  readonly startAfter?: readonly string[];
  /** Runs before every spawn (PostgreSQL: initdb on first start, stale postmaster.pid). */
  readonly prepare?: () => Promise<void>;
  /** Runs after every successful readiness (PostgreSQL: ensure role and database). */
  readonly afterReady?: () => Promise<void>;
  /**
   * Nothing depends on it: a failure to start it leaves it down and the rest
   * of the platform starts (Supervisor.startAll returns it among the
   * failures), no other process waits for it, and with `startAll({
   * optionalInBackground: true })` (`up`) not even the start-up does: the
   * trace backend, whose JVM takes several CPU-seconds.
   */
  readonly optional?: boolean;
  /**
   * Its CPU priority (nice, 1-19: lower priority), set right after the
   * spawn, before the program starts its threads (they inherit it): the
   * trace backend's JVM, whose 6–8 CPU-seconds of start-up would otherwise
   * take the cores from the processes the platform waits for.
   */
  readonly nice?: number;
  /** Lines printed under the status table (how to use this process). */
  readonly notes?: readonly string[];
}

export interface ProcessStatus {
  name: string;
  kind: ProcessKind;
  state: ProcessState;
  pid?: number;
  port?: number;
  url?: string;
  adminPort?: number;
  exitCode?: number | null;
  signal?: string | null;
  startedAt?: string;
  starts: number;
  logFile: string;
  /** The full command line, for people. */
  command: string;
  /** The executable, so a later run can tell a leftover process is ours (its command line starts with it). */
  executable: string;
  /** Nothing waits for it (ProcessSpec.optional): the platform is ready without it. */
  optional?: true;
}

export interface Disposable {
  dispose(): void;
}

const DEFAULT_READY_TIMEOUT_MS = 30_000; // 30 s
const DEFAULT_STOP_TIMEOUT_MS = 10_000; // 10 s
const KILL_WAIT_MS = 5_000; // after SIGKILL the kernel is quick; bound the wait anyway
const POLL_MS = 100;

/**
 * Signals the whole process group (children are spawned detached, so the
 * group id is the leader's pid). Never falls back to the bare pid: once the
 * leader is reaped its pid may belong to someone else, while a group id stays
 * reserved as long as any member lives.
 */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  #state: ProcessState = 'stopped';
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #exitCode: number | null | undefined;
  #signal: string | null | undefined;
  #startedAt: string | undefined;
  #starts = 0;
  #spawnError: Error | undefined;
  #listeners = new Set<(status: ProcessStatus) => void>();

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): ProcessState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child && this.#child.exitCode === null && this.#child.signalCode === null
      ? this.#child.pid
      : undefined;
  }

  /** Called on every state change; returns a disposable that unsubscribes. */
  onChange(listener: (status: ProcessStatus) => void): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  status(): ProcessStatus {
    const s: ProcessStatus = {
      name: this.spec.name,
      kind: this.spec.kind,
      state: this.#state,
      starts: this.#starts,
      logFile: this.spec.logFile,
      command: [this.spec.command, ...this.spec.args].join(' '),
      executable: this.spec.command,
    };
    if (this.pid !== undefined) s.pid = this.pid;
    if (this.spec.port !== undefined) s.port = this.spec.port;
    if (this.spec.url !== undefined) s.url = this.spec.url;
    if (this.spec.adminPort !== undefined) s.adminPort = this.spec.adminPort;
    if (this.#exitCode !== undefined) s.exitCode = this.#exitCode;
    if (this.#signal !== undefined) s.signal = this.#signal;
    if (this.#startedAt !== undefined) s.startedAt = this.#startedAt;
    if (this.spec.optional) s.optional = true;
    return s;
  }

  #setState(state: ProcessState): void {
    this.#state = state;
    const status = this.status();
    for (const listener of this.#listeners) listener(status);
  }

  #badState(action: string): LocalError {
    return new LocalError('LOCAL_ERR_BAD_STATE', `cannot ${action} ${this.name}: it is ${this.#state}`);
  }

  /** Spawns the process and resolves once its readiness probe passes. */
  async start(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running' || this.#state === 'paused') {
      throw this.#badState('start');
    }
    if (this.#state === 'stopping') throw this.#badState('start');
    const { spec } = this;
    this.#setState('starting');
    try {
      await spec.prepare?.();
      if (spec.adminPort) {
        await assertPortFree(
          spec.adminPort,
          `stop what uses it (admin port of ${spec.name}), or restart the run`,
        );
      }
      if (spec.port !== undefined && spec.port !== 0 && !spec.sharedPort) {
        await assertPortFree(
          spec.port,
          spec.portHint ?? `stop what uses it (for ${spec.name}), or choose other ports`,
        );
      }
      this.#spawn();
      await this.#waitReady();
      await spec.afterReady?.();
    } catch (err) {
      if (this.pid !== undefined) await this.#terminate('SIGKILL', KILL_WAIT_MS);
      this.#exitCode ??= null;
      this.#setState(this.#child ? 'down' : 'stopped');
      throw err;
    }
    this.#setState('running');
  }

  #spawn(): void {
    const { spec } = this;
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      writeSync(
        fd,
        `\n=== ${new Date().toISOString()} breakwater starting ${spec.name}: ${spec.command} ${spec.args.join(' ')}\n`,
      );
      const env = spec.inheritEnv === false ? { ...spec.env } : { ...process.env, ...spec.env };
      child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env,
        detached: true, // own process group: signals reach its children, Ctrl-C does not
        stdio: ['ignore', fd, fd],
        ...(spec.runAs ? { uid: spec.runAs.uid, gid: spec.runAs.gid } : {}),
      });
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    if (spec.nice !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, spec.nice);
      } catch {
        // Only a lower priority is asked for, which any user may set; should the call fail, it runs at the default.
      }
    }
    this.#spawnError = undefined;
    this.#exitCode = undefined;
    this.#signal = undefined;
    this.#starts += 1;
    this.#startedAt = new Date().toISOString();
    this.#exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.#spawnError = err;
        if (child.pid === undefined) {
          this.#exitCode = null;
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        this.#exitCode = code;
        this.#signal = signal;
        // Leftovers in the group (a child the leader forked) go with it.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        resolve();
        if (this.#state === 'running' || this.#state === 'paused') this.#setState('down');
      });
    });
  }

  #exitedNow(): boolean {
    const child = this.#child;
    return !child || child.exitCode !== null || child.signalCode !== null || this.#exitCode !== undefined;
  }

  async #waitReady(): Promise<void> {
    const { spec } = this;
    const timeoutMs = spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const maxAttempts = Math.ceil(timeoutMs / POLL_MS) + 10; // bound the loop in count as well as time
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (this.#exitedNow()) {
        await this.#exited;
        const how = this.#spawnError
          ? `failed to start (${this.#spawnError.message})`
          : this.#signal
            ? `was killed by ${this.#signal}`
            : `exited with code ${this.#exitCode}`;
        throw new LocalError(
          'LOCAL_ERR_EXITED',
          `${spec.name} ${how} before it was ready; ${formatTail(spec.logFile)}`,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const signal = AbortSignal.timeout(Math.min(remaining, 2_000));
      if (await spec.ready.check(signal)) {
        if (!this.#exitedNow()) return;
        continue; // something else answered; our process died — report that above
      }
      await settlesWithin(this.#exited, POLL_MS);
    }
    throw new LocalError(
      'LOCAL_ERR_NOT_READY',
      `${spec.name} was not ready within ${Number((timeoutMs / 1000).toFixed(1))} s (${spec.ready.describe}); ${formatTail(spec.logFile)}`,
    );
  }

  /** Sends `signal` to the group, waits up to `waitMs` for the leader to exit, then SIGKILLs. */
  async #terminate(signal: NodeJS.Signals, waitMs: number): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#exitedNow()) {
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      return;
    }
    signalGroup(pid, signal);
    if (signal !== 'SIGKILL') signalGroup(pid, 'SIGCONT'); // a paused group must wake to handle it
    const exitedInTime = await settlesWithin(this.#exited, waitMs);
    if (!exitedInTime && signal !== 'SIGKILL') {
      signalGroup(pid, 'SIGKILL');
      await settlesWithin(this.#exited, KILL_WAIT_MS);
    }
    signalGroup(pid, 'SIGKILL'); // whatever is left of the group
  }

  /** Graceful stop (the spec's stop signal, then SIGKILL after its grace). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'down') {
      if (this.pid === undefined) return;
    }
    this.#setState('stopping');
    await this.#terminate(
      this.spec.stopSignal ?? 'SIGTERM',
      this.spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    );
    this.#setState('stopped');
  }

  /** SIGKILL to the whole group: the process is `down` afterwards, as if it had crashed. */
  async kill(): Promise<void> {
    if (this.pid === undefined) throw this.#badState('kill');
    this.#setState('stopping');
    await this.#terminate('SIGKILL', KILL_WAIT_MS);
    this.#setState('down');
  }

  /** SIGSTOP to the group: the process holds its sockets but answers nothing. */
  pause(): void {
    const pid = this.pid;
    if (this.#state !== 'running' || pid === undefined) throw this.#badState('pause');
    signalGroup(pid, 'SIGSTOP');
    this.#setState('paused');
  }

  /** SIGCONT to the group. */
  resume(): void {
    const pid = this.pid;
    if (this.#state !== 'paused' || pid === undefined) throw this.#badState('resume');
    signalGroup(pid, 'SIGCONT');
    this.#setState('running');
  }

  /** Stops it if alive, then starts it again on the same port. */
  async restart(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'stopping') throw this.#badState('restart');
    await this.stop();
    await this.start();
  }

  /** True while any process of its (last) group lives — the leader or something it forked. */
  groupAlive(): boolean {
    const pid = this.#child?.pid;
    // Not kill(-pgid, 0): that counts zombies, which linger where nothing reaps orphans.
    return pid !== undefined && groupMembers(pid).length > 0;
  }

  /** Synchronous last resort for process 'exit' handlers: SIGKILL the group now. */
  killNow(): void {
    // Only while the leader is unreaped: after that the group id may be reused
    // by a stranger (the exit handler already killed what the leader left).
    const pid = this.pid;
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
  }
}
