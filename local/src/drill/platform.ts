/**
 * The platform a drill runs against: the run that is up in the run folder
 * (it must have the fault controller: /v1/faults), or one this runner starts
 * in the background (platform-up.ts: `up` with the fault controller plugin)
 * and stops again when it is done.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { controlCall, liveRun } from '../control-client.ts';
import type { ProcessStatus } from '../managed-process.ts';
import { nodeArgs } from '../node-flags.ts';
import { type RunState, readState } from '../state.ts';
import { warmCaches } from '../warm.ts';

export interface PlatformHandle {
  state: RunState;
  /** True when this runner started it (and so stops it). */
  started: boolean;
  status(): Promise<ProcessStatus[]>;
  stop(): Promise<void>;
}

export interface EnsureOptions {
  root: string;
  runDir: string;
  /** Environment for a platform this runner starts (ports, mechanism switches for tests). */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** How long start-up may take (default 180 s). */
  timeoutMs?: number;
  /** How often to look whether it is up yet (default 250 ms; the footprint bench times the start with 50). */
  pollMs?: number;
  /** Instances per service for a platform this runner starts (`--replicas`, discovery on). */
  replicas?: Readonly<Record<string, number>>;
  /** Discovery on for a platform this runner starts, so drills can scale it (`--discovery`). */
  discovery?: boolean;
  /**
   * Also wait for the optional processes (the trace backend), which `up`
   * does not wait for (default true: a drill's report wants its traces; the
   * footprint bench times the platform without them, and them apart).
   */
  waitForOptional?: boolean;
}

async function hasFaultController(state: RunState): Promise<boolean> {
  try {
    await controlCall(state, 'GET', '/v1/faults');
    return true;
  } catch {
    return false;
  }
}

function handle(state: RunState, child: ChildProcess | undefined): PlatformHandle {
  return {
    state,
    started: child !== undefined,
    status: async () =>
      ((await controlCall(state, 'GET', '/v1/status')) as { processes: ProcessStatus[] }).processes,
    stop: async () => {
      if (!child || child.exitCode !== null) return;
      child.ref(); // unref'd while running; now the runner waits for it
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The live run, or a new one started in the background; resolves once every process is running. */
export async function ensurePlatform(options: EnsureOptions): Promise<PlatformHandle> {
  const log = options.log ?? (() => {});
  const existing = liveRun(options.runDir);
  if (existing) {
    if (!(await hasFaultController(existing))) {
      throw new Error(
        `the platform up in ${options.runDir} (supervisor pid ${existing.supervisorPid}) has no fault controller: ` +
          'it was started by an older Breakwater: stop it (npm run local -- stop) and start it again with npm start',
      );
    }
    log(`using the platform already up in ${options.runDir} (supervisor pid ${existing.supervisorPid})`);
    return handle(existing, undefined);
  }

  mkdirSync(path.join(options.runDir, 'logs'), { recursive: true });
  const logFile = path.join(options.runDir, 'logs', 'drill-platform.log');
  const out = openSync(logFile, 'a');
  const offset = statSync(logFile).size;
  const newLog = () => readFileSync(logFile).subarray(offset).toString('utf8');
  log(`starting the platform with the fault controller (log: ${logFile}) …`);
  // The supervisor, services and gateways run their bundles: build them here, where the
  // stripper is loaded anyway (this process runs .ts), not in each of them.
  await warmCaches(options.root);
  const child = spawn(
    process.execPath,
    nodeArgs('supervisor', 'local/src/drill/platform-up.ts', options.root),
    {
      cwd: options.root,
      env: {
        ...process.env,
        BW_RUN_DIR: options.runDir,
        // `up` reads BW_REPLICAS as --replicas; platform-up.ts turns BW_DRILL_DISCOVERY into --discovery.
        ...(options.replicas && Object.keys(options.replicas).length
          ? {
              BW_REPLICAS: Object.entries(options.replicas)
                .map(([s, n]) => `${s}=${n}`)
                .join(','),
            }
          : {}),
        ...(options.discovery ? { BW_DRILL_DISCOVERY: 'true' } : {}),
        ...options.env,
      },
      stdio: ['ignore', out, out],
      // Its own process group: a Ctrl-C in the terminal reaches the runner, which undoes the
      // drill's faults before it stops the platform (and --keep-up leaves it running).
      detached: true,
    },
  );
  child.unref();
  closeSync(out);
  const startedAt = Date.now();
  const timeoutMs = options.timeoutMs ?? 180_000;
  const pollMs = options.pollMs ?? 250;
  const deadline = startedAt + timeoutMs;
  for (let i = 0; i <= timeoutMs / pollMs && Date.now() < deadline; i++) {
    if (child.exitCode !== null) {
      const tail = newLog().trim().split('\n').slice(-15).join('\n');
      throw new Error(`the platform did not start (exit ${child.exitCode}):\n${tail}`);
    }
    const state = readState(options.runDir);
    if (state && state !== 'unreadable' && state.supervisorPid === child.pid && !state.stoppedAt) {
      const waitForOptional = options.waitForOptional ?? true;
      const running =
        state.processes.length > 0 &&
        state.processes.every(
          (p) => p.state === 'running' || (!waitForOptional && p.optional && p.state === 'starting'),
        );
      if (running && newLog().includes('Ctrl-C stops everything.')) {
        log(`platform up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
        return handle(state, child);
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  child.kill('SIGTERM');
  throw new Error(`the platform did not come up within ${timeoutMs / 1000} s; see ${logFile}`);
}
