/**
 * One try, with its own abort channel and one timer at min(per-try timeout,
 * remaining deadline); the callee is told what is left in `x-bw-timeout-ms`.
 * Both kinds use undici's `dispatch` with a handler object per try (no
 * per-try closures beyond the promise): a BufferedTry collects the body, a
 * StreamingTry hands it on as it arrives (streaming-try.ts). A try resolves with the response, or rejects with a MeshError,
 * or with a FailedTry (5xx or slow) that the breaker counts as a failure.
 */
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';
import { DEADLINE_HEADER } from '../deadline.ts';
import { MeshError } from '../errors.ts';
import type { Call } from './call.ts';
import { BufferedTry } from './dispatch-handler.ts';
import { asMeshError, tryTimeoutError } from './error-mapping.ts';
import { outlierStatus } from './load-balancer.ts';
import { StreamingTry } from './streaming-try.ts';
import type { TryResult } from './try-result.ts';

function onTryTimer(call: Call): void {
  call.abortTry(tryTimeoutError(call));
}

export function tryOnce(call: Call): Promise<TryResult> {
  const up = call.up;
  const now = call.tries === 0 ? call.start : performance.now();
  const remaining = call.deadlineAt - now;
  call.tries++;
  up.metrics.countTry(call.tries);
  if (remaining < 1) {
    return Promise.reject(
      new MeshError('MESH_ERR_DEADLINE', `${up.name}: deadline exceeded before try ${call.tries}`, {
        upstream: up.name,
      }),
    );
  }
  if (call.signal?.aborted) {
    return Promise.reject(
      new MeshError('MESH_ERR_ABORTED', `${up.name}: call aborted by caller`, { upstream: up.name }),
    );
  }
  const tryMs = remaining < call.timeoutMs ? remaining : call.timeoutMs;
  call.tryCutIsDeadline = remaining <= call.timeoutMs;
  call.headers[DEADLINE_HEADER] = String(Math.floor(tryMs));
  call.tryAborted = false;
  call.reason = undefined;
  call.tryStart = now;
  // One endpoint: the upstream's own pool, nothing else to pay. Several: pick one per try.
  const lb = up.lb;
  if (lb === undefined) return dispatchTry(call, up.pool as Pool, tryMs);
  const ep = lb.choose(call.endpoint);
  if (ep === undefined) {
    return Promise.reject(
      new MeshError('MESH_ERR_CONNECT', `${up.name}: no ready endpoint`, { upstream: up.name }),
    );
  }
  call.endpoint = ep;
  // A buffered try reports its result to the balancer itself (no extra promise per try).
  if (!call.streaming) return dispatchTry(call, ep.pool, tryMs);
  return dispatchTry(call, ep.pool, tryMs).then(
    (r) => {
      lb.done(ep, r.status);
      return r;
    },
    (e: unknown) => {
      lb.done(ep, outlierStatus(e));
      throw e;
    },
  );
}

function dispatchTry(call: Call, pool: Pool, tryMs: number): Promise<TryResult> {
  const up = call.up;
  // Whole milliseconds (a remaining deadline is fractional): Node keeps one timer list per
  // distinct duration, and its clock counts whole milliseconds, so this fires when it would have.
  call.tryTimer = setTimeout(onTryTimer, Math.ceil(tryMs), call);
  return new Promise<TryResult>((resolve, reject) => {
    const handler = call.streaming
      ? new StreamingTry(call, resolve, reject)
      : new BufferedTry(call, resolve, reject);
    call.current = handler;
    try {
      pool.dispatch(
        {
          method: call.method as 'GET',
          path: call.path,
          headers: call.headers,
          body: call.body as string | Buffer | Uint8Array | Readable | undefined,
        },
        handler,
      );
    } catch (err) {
      // undici refuses bad options synchronously (e.g. a header with a newline).
      handler.fail(asMeshError(up, err));
    }
  });
}
