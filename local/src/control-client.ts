/**
 * The one client of the supervisor's control API (the CLI, the drill runner
 * and the load runner all call it): finds the live run through the state file
 * and calls it with the run's bearer token. Failures are LocalErrors carrying
 * the control API's own code, so callers print one line.
 */
import { LocalError, type LocalErrorCode } from './errors.ts';
import type { ProcessStatus } from './managed-process.ts';
import { type RunState, readState, supervisorAlive } from './state.ts';

/** The run that is up in `runDir`, or undefined (none, unreadable, or its supervisor is gone). */
export function liveRun(runDir: string): RunState | undefined {
  const state = readState(runDir);
  if (state === undefined || state === 'unreadable' || !supervisorAlive(state)) return undefined;
  return state;
}

export function liveState(runDir: string): RunState {
  const state = liveRun(runDir);
  if (state === undefined) {
    throw new LocalError(
      'LOCAL_ERR_NOT_RUNNING',
      `no Breakwater run is up in ${runDir}: start one with "npm start"`,
    );
  }
  return state;
}

export async function controlCall(
  state: RunState,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  /** Sent as JSON. */
  body?: unknown,
  /** Default 120 s: stopping or starting a process waits for it. */
  timeoutMs = 120_000,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, state.control.url), {
      method,
      headers: {
        authorization: `Bearer ${state.control.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new LocalError(
      'LOCAL_ERR_NOT_RUNNING',
      `the supervisor (pid ${state.supervisorPid}) did not answer at ${state.control.url}: ${(err as Error).message}`,
    );
  }
  const text = await res.text();
  let parsed: { code?: string; detail?: string } = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: the status line says enough
  }
  if (!res.ok) {
    const code = (parsed.code ?? 'LOCAL_ERR_BAD_STATE') as LocalErrorCode;
    throw new LocalError(
      code,
      parsed.detail ?? `control API ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`,
    );
  }
  return parsed;
}

export async function remoteStatus(state: RunState): Promise<ProcessStatus[]> {
  const body = (await controlCall(state, 'GET', '/v1/status', undefined, 5_000)) as {
    processes: ProcessStatus[];
  };
  return body.processes;
}
