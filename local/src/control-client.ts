/** The CLI's side of the control API: finds the live supervisor through the state file and calls it. */
import { LocalError, type LocalErrorCode } from './errors.ts';
import type { ProcessStatus } from './managed-process.ts';
import { type RunState, readState, supervisorAlive } from './state.ts';

export function liveState(runDir: string): RunState {
  const state = readState(runDir);
  if (state === undefined || state === 'unreadable' || !supervisorAlive(state)) {
    throw new LocalError(
      'LOCAL_ERR_NOT_RUNNING',
      `no Breakwater run is up in ${runDir}: start one with "npm start" (node local/src/cli.ts up)`,
    );
  }
  return state;
}

export async function callControl(
  state: RunState,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 120_000,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, state.control.url), {
      method,
      headers: { authorization: `Bearer ${state.control.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new LocalError(
      'LOCAL_ERR_NOT_RUNNING',
      `the supervisor (pid ${state.supervisorPid}) did not answer at ${state.control.url}: ${(err as Error).message}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
  if (!res.ok) {
    const code = (body.code ?? 'LOCAL_ERR_BAD_STATE') as LocalErrorCode;
    throw new LocalError(code, body.detail ?? `control API answered ${res.status}`);
  }
  return body;
}

export async function remoteStatus(state: RunState): Promise<ProcessStatus[]> {
  const body = (await callControl(state, 'GET', '/v1/status', 5_000)) as { processes: ProcessStatus[] };
  return body.processes;
}
