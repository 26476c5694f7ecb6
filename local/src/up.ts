/**
 * `up`: recover a killed run, build the platform, start the control API, start
 * everything, print the status table, and stay up until Ctrl-C / SIGTERM /
 * POST /v1/shutdown — then stop everything in reverse order, gracefully then
 * forcefully, so nothing is left running.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CertificateAuthority } from './certificate-authority.ts';
import { ControlApi } from './control-api.ts';
import { LocalError } from './errors.ts';
import { buildPlatform, type PlatformOptions } from './platform.ts';
import { LOOPBACK } from './ports.ts';
import type { RolloutOptions } from './rollout.ts';
import { keepRunFiles } from './run-files.ts';
import { createScaler, type Scaler } from './scaling.ts';
import { processCommandLine } from './stale.ts';
import { type RunState, recoverStaleRun, writeState } from './state.ts';
import { describeState, formatStatusTable } from './status-table.ts';
import { Supervisor } from './supervisor.ts';

export interface UpOptions extends Omit<PlatformOptions, 'adminToken' | 'log' | 'ca'> {
  /** No CA, no mTLS: every service speaks plain HTTP (`--plaintext`, BW_MTLS=off). */
  plaintext?: boolean;
  /** Workload certificate lifetime, ms (default 1 h; renewed at half-life). */
  certLifetimeMs?: number;
  print?: (line: string) => void;
  /** A process that fails to start stays down and the rest start anyway (default: stop everything). */
  keepGoing?: boolean;
  /**
   * Extensions of the running supervisor (the fault controller): called once
   * the control API exists and before anything starts; add routes with
   * `api.route(...)`.
   */
  plugins?: readonly UpPlugin[];
}

export interface UpContext {
  api: ControlApi;
  /** The run's certificate authority (undefined with --plaintext). */
  ca?: CertificateAuthority | undefined;
  supervisor: Supervisor;
  /** Scale and roll out services (one change at a time); the fault controller's `rollout` kind uses it. */
  scaler?: Scaler;
  state: RunState;
  print: (line: string) => void;
}

export type UpPlugin = (ctx: UpContext) => void | Promise<void>;

/** The body of POST /v1/services/:service/rollout, checked: { maxSurge?, maxUnavailable?, drain? }. */
export function rolloutOptions(body: unknown): RolloutOptions {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) => !['maxSurge', 'maxUnavailable', 'drain'].includes(k));
  if (unknown)
    throw new LocalError(
      'LOCAL_ERR_BAD_INPUT',
      `unknown rollout field "${unknown}": use maxSurge, maxUnavailable, drain`,
    );
  const intOrPercent = (field: string) => {
    const v = b[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new LocalError('LOCAL_ERR_BAD_INPUT', `${field} must be a count or a percentage such as "25%"`);
    return v;
  };
  if (b.drain !== undefined && typeof b.drain !== 'boolean')
    throw new LocalError('LOCAL_ERR_BAD_INPUT', 'drain must be true or false');
  const maxSurge = intOrPercent('maxSurge');
  const maxUnavailable = intOrPercent('maxUnavailable');
  return {
    ...(maxSurge !== undefined ? { maxSurge } : {}),
    ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
    ...(b.drain !== undefined ? { drain: b.drain as boolean } : {}),
  };
}

/** Runs until stopped; resolves with the exit code. */
export async function up(options: UpOptions): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  mkdirSync(options.runDir, { recursive: true });
  const recovered = await recoverStaleRun(options.runDir);
  if (recovered) print(recovered);

  const adminToken = randomBytes(24).toString('base64url');
  const controlToken = randomBytes(24).toString('base64url');
  // A fresh root per run in <run>/ca (never committed: .run/ is ignored).
  // With --plaintext the previous run's CA goes too: nothing may take its certificates for this run's.
  if (options.plaintext) rmSync(path.join(options.runDir, 'ca'), { recursive: true, force: true });
  const ca = options.plaintext
    ? undefined
    : await CertificateAuthority.start({
        dir: path.join(options.runDir, 'ca'),
        ...(options.certLifetimeMs !== undefined ? { lifetimeMs: options.certLifetimeMs } : {}),
        log: (line) => print(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
      });
  print(
    ca
      ? `mTLS on: certificate authority ${ca.caFile} (${sinceStart()})`
      : 'mTLS off (--plaintext): services speak plain HTTP',
  );
  const platform = await buildPlatform({ ...options, adminToken, log: print, ...(ca ? { ca } : {}) });
  for (const s of platform.skipped) print(`  - ${s.name}: not started (${s.reason})`);

  // The start-up timeline: each step says when it happened, counted from this process' start.
  const supervisor = new Supervisor(platform.specs, {
    onStarting: (name) => print(`  … ${name} starting (${sinceStart()})`),
    onReady: (s, ms) =>
      print(
        `  ✓ ${s.name} ready${s.port ? ` on port ${s.port}` : ''} (${(ms / 1000).toFixed(1)} s, ${sinceStart()})`,
      ),
    onFailed: (name) => print(`  ✗ ${name} failed (${sinceStart()})`),
  });

  // Ports first: a taken port is reported before anything is spawned or written.
  await supervisor.preflight();

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let shuttingDown = false;
  let startup: Promise<void> = Promise.resolve();

  const api = new ControlApi({
    token: controlToken,
    supervisor,
    onShutdown: () => void shutdown('shutdown request'),
  });
  // Discovery: callers balance over the instances listed in <run>/endpoints/<service>.json.
  // Prometheus' targets too: every instance, rewritten as `scale` adds and removes them.
  const runFiles = keepRunFiles(options.runDir, supervisor, platform);
  const scaler = createScaler(supervisor, platform, runFiles.endpoints);
  api.route('POST', '/v1/services/:service/scale', ({ params, body }) => {
    const replicas = (body as { replicas?: unknown }).replicas;
    return scaler.scale(params.service ?? '', typeof replicas === 'number' ? replicas : String(replicas));
  });
  api.route('POST', '/v1/services/:service/rollout', ({ params, body }) =>
    scaler.rollout(params.service ?? '', rolloutOptions(body)),
  );
  if (ca) {
    // The cert-expiry drill: the CA refuses (or again allows) renewals of one identity.
    api.route('GET', '/v1/ca', () => ({ caFile: ca.caFile, dir: ca.dir, identities: ca.status() }));
    api.route('POST', '/v1/ca/refuse', ({ body }) => {
      const b = body as { identity?: unknown; refuse?: unknown };
      if (typeof b.identity !== 'string' || b.identity === '')
        throw new LocalError(
          'LOCAL_ERR_BAD_INPUT',
          'body.identity: a ServiceAccount or SPIFFE id is required',
        );
      return { processes: ca.refuse(b.identity, b.refuse !== false), refused: b.refuse !== false };
    });
    api.route('POST', '/v1/ca/lifetime', async ({ body }) => {
      const seconds = (body as { seconds?: unknown }).seconds;
      if (typeof seconds !== 'number' || !Number.isInteger(seconds))
        throw new LocalError(
          'LOCAL_ERR_BAD_INPUT',
          'body.seconds: a whole number of seconds ≥ 10 is required',
        );
      return { lifetimeSeconds: seconds, reissued: await ca.setLifetime(seconds * 1000) };
    });
  }
  const controlPort = await api.listen(0);
  const state: RunState = {
    version: 1,
    supervisorPid: process.pid,
    supervisorCommand: processCommandLine(process.pid) ?? '',
    startedAt: new Date().toISOString(),
    root: options.root,
    runDir: options.runDir,
    control: { url: `http://${LOOPBACK}:${controlPort}`, token: controlToken },
    adminToken,
    processes: supervisor.status(),
    notes: platform.notes,
  };
  const save = () => {
    state.processes = supervisor.status();
    writeState(options.runDir, state);
  };
  save();
  let started = false;
  const changes = supervisor.onChange((status) => {
    save();
    // After start-up, tell the terminal about every process that goes down, pauses or comes back.
    if (started && !shuttingDown && ['down', 'paused', 'running'].includes(status.state)) {
      const time = new Date().toISOString().slice(11, 19);
      print(`[${time}] ${status.name}: ${describeState(status)}${status.pid ? ` (pid ${status.pid})` : ''}`);
    }
  });
  for (const plugin of options.plugins ?? []) await plugin({ api, ca, supervisor, scaler, state, print });

  // Last resort: whatever way this process ends, its children go with it.
  const onExit = () => supervisor.killAllNow();
  process.on('exit', onExit);

  async function shutdown(reason: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    print(`\nstopping everything (${reason}) …`);
    supervisor.close();
    await supervisor.stopAll(); // wakes any start that is waiting on a process we just stopped
    await startup.catch(() => {});
    await supervisor.stopAll(); // anything spawned while the first pass ran
    const leftovers = await supervisor.reapLeftovers();
    if (leftovers.length) print(`killed processes left behind by ${leftovers.join(', ')}`);
    changes.dispose();
    runFiles.close();
    ca?.close();
    state.stoppedAt = new Date().toISOString();
    save();
    await api.close();
    process.off('exit', onExit);
    const alive = supervisor.processes.filter((p) => p.groupAlive()).map((p) => p.name);
    print(
      alive.length
        ? `stopped, but processes of ${alive.join(', ')} are still alive`
        : 'stopped: no process left running',
    );
    resolveDone(0);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      print(`${signal} again: killing everything now`);
      supervisor.killAllNow();
      process.exit(130);
    }
    void shutdown(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let failures: unknown[] = [];
  // Optional processes (the trace backend) start alongside but hold nothing up: see below the table.
  startup = supervisor
    .startAll({ keepGoing: options.keepGoing ?? false, optionalInBackground: true })
    .then((f) => {
      failures = f;
    });
  try {
    await startup;
  } catch (err) {
    if (!shuttingDown) {
      await shutdown('start-up failed');
      await done;
      throw err; // the CLI prints it as one error line and exits 1
    }
  }
  started = true;
  if (!shuttingDown) {
    const readyAt = sinceStart();
    print('');
    print(formatStatusTable(supervisor.status()));
    for (const f of failures)
      print(`failed to start (left down): ${f instanceof Error ? f.message : String(f)}`);
    print(`platform ready (${readyAt})`);
    announceOptional(supervisor, print, () => shuttingDown);
    if (platform.notes.length) print('');
    for (const note of platform.notes) print(note);
    print('');
    for (const line of controlHints(options, supervisor.status()[0]?.name ?? 'redis')) print(line);
    print('Ctrl-C stops everything.');
  }
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  return code;
}

/** `+3.4 s`: the time since this process started (the start-up timeline). */
function sinceStart(): string {
  return `+${process.uptime().toFixed(1)} s`;
}

/**
 * Says which optional processes (the trace backend) are still starting when
 * the platform is ready — nothing waits for them; spans meanwhile are
 * dropped and counted (bw_trace_spans_dropped_total) — and, later, when each
 * is ready or that it failed.
 */
function announceOptional(
  supervisor: Supervisor,
  print: (line: string) => void,
  stopping: () => boolean,
): void {
  const pending = supervisor.processes.filter((p) => p.spec.optional && p.state === 'starting');
  if (!pending.length) return;
  for (const p of pending)
    print(
      `${p.name}: still starting; nothing waits for it (spans are dropped and counted until it answers). A line follows when it is ready.`,
    );
  void supervisor.optionalStarts().then((failed) => {
    if (stopping()) return;
    const time = new Date().toISOString().slice(11, 19);
    for (const p of pending)
      if (p.state === 'running')
        print(`[${time}] ${p.name} ready (${sinceStart()}): the platform is complete`);
    for (const f of failed)
      print(`[${time}] failed to start (left down): ${f instanceof Error ? f.message : String(f)}`);
  });
}

/**
 * The lines under the table that say how to drive this run from another
 * terminal. Each indented line is a command that runs exactly as printed with
 * any system Node (npm scripts go through scripts/bw, which puts Node 24
 * first); a test runs them. A run outside the default folder names it.
 */
export function controlHints(options: Pick<UpOptions, 'root' | 'runDir'>, someProcess: string): string[] {
  const runDir = path.resolve(options.runDir);
  const flag = runDir === path.resolve(options.root, '.run') ? '' : ` --run-dir ${runDir}`;
  return [
    `logs: ${runDir}/logs/<name>.log. From another terminal (kill, pause, resume, restart, start, stop and logs -f take a process name the same way):`,
    `  npm run local -- status${flag}`,
    `  npm run local -- logs ${someProcess} -n 20${flag}`,
  ];
}
