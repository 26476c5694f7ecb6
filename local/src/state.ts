/**
 * The run's state file, `<run dir>/state.json` (mode 0600: it holds the
 * control token and the platform admin token). The supervisor rewrites it on
 * every change; `status` reads it when no supervisor answers, and the next
 * `up` uses it to recover a run whose supervisor was killed.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { LocalError } from './errors.ts';
import type { ProcessStatus } from './managed-process.ts';
import { groupMembers, killLeftoverGroup, processCommandLine } from './stale.ts';

export interface RunState {
  version: 1;
  supervisorPid: number;
  /** The supervisor's command line, to tell it from a reused pid. */
  supervisorCommand: string;
  startedAt: string;
  /** Set when the supervisor stopped cleanly. */
  stoppedAt?: string;
  root: string;
  runDir: string;
  control: { url: string; token: string };
  /** BW_ADMIN_TOKEN / GATEWAY_ADMIN_TOKEN given to every process of this run. */
  adminToken: string;
  processes: ProcessStatus[];
  /** Lines printed under the status table. */
  notes: string[];
}

export function stateFile(runDir: string): string {
  return path.join(runDir, 'state.json');
}

export function writeState(runDir: string, state: RunState): void {
  writeFileAtomic(stateFile(runDir), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** The state file, undefined when absent; 'unreadable' when it is not valid JSON of the expected shape. */
export function readState(runDir: string): RunState | 'unreadable' | undefined {
  const file = stateFile(runDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as RunState;
    if (
      parsed.version !== 1 ||
      !Array.isArray(parsed.processes) ||
      typeof parsed.supervisorPid !== 'number'
    ) {
      return 'unreadable';
    }
    return parsed;
  } catch {
    return 'unreadable';
  }
}

/** True when the state's supervisor is alive (its pid runs the same command line). */
export function supervisorAlive(state: RunState): boolean {
  if (state.stoppedAt) return false;
  const cmdline = processCommandLine(state.supervisorPid);
  return cmdline !== undefined && cmdline === state.supervisorCommand;
}

/** Polls until none of the groups has a live member, up to `timeoutMs`. */
async function waitGroupsGone(groups: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (groups.every((g) => groupMembers(g).length === 0)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Before `up`: refuses when a live supervisor owns the run dir; otherwise,
 * when the previous supervisor died without stopping (SIGKILL, crash), kills
 * the processes it left that are still ours and removes the state file.
 * Returns one line saying what was recovered, or undefined.
 */
export async function recoverStaleRun(runDir: string): Promise<string | undefined> {
  const state = readState(runDir);
  if (state === undefined) return undefined;
  if (state === 'unreadable') {
    rmSync(stateFile(runDir), { force: true });
    return `recovered: removed unreadable ${stateFile(runDir)}`;
  }
  if (supervisorAlive(state)) {
    throw new LocalError(
      'LOCAL_ERR_ALREADY_RUNNING',
      `a Breakwater run is already up in ${runDir} (supervisor pid ${state.supervisorPid}): stop it with "npm run local -- stop" or pass another --run-dir`,
    );
  }
  if (state.stoppedAt) return undefined;
  const killed: string[] = [];
  const groups: number[] = [];
  for (const p of state.processes) {
    if (p.pid === undefined) continue;
    if (killLeftoverGroup(p.pid, p.executable).length > 0) {
      killed.push(`${p.name} (pid ${p.pid})`);
      groups.push(p.pid);
    }
  }
  await waitGroupsGone(groups, 5_000);
  rmSync(stateFile(runDir), { force: true });
  return `recovered a killed run (supervisor pid ${state.supervisorPid} is gone): ${
    killed.length ? `killed leftover ${killed.join(', ')}` : 'no leftover processes'
  }; removed its stale state file`;
}
