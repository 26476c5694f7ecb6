/**
 * The retry loop: after a failed try, decide whether it may be tried again
 * (idempotency, the call's retry view), spend the retry budget, back off with
 * jitter (or the upstream's Retry-After) and try again through the breaker,
 * until a success or a final failure. A backoff that would end after the
 * deadline is not taken. The first try runs inline in the upstream; this loop
 * only runs after a failure.
 */
import { backoffDelay, parseRetryAfter } from '../backoff.ts';
import { MeshError } from '../errors.ts';
import type { Call } from './call.ts';
import { asMeshError, retryCause, statusError } from './error-mapping.ts';
import { tryOnce } from './try.ts';
import { FailedTry, type TryResult } from './try-result.ts';

/** One try through the breaker (when the upstream has one). */
export function fireTry(call: Call): Promise<TryResult> {
  const breaker = call.up.breaker;
  return breaker ? breaker.fire(call) : tryOnce(call);
}

export async function retryLoop(call: Call, firstError: unknown): Promise<TryResult> {
  const up = call.up;
  let prevDelay = 0;
  let pending: unknown = firstError;
  for (;;) {
    let failure: MeshError | FailedTry;
    try {
      if (pending === undefined) return await fireTry(call);
      throw pending;
    } catch (e) {
      pending = undefined;
      if (e instanceof FailedTry && e.slow) return e.response; // slow but successful: a failure for the breaker only
      failure = e instanceof FailedTry ? e : asMeshError(up, e);
    }
    const retryNo = call.tries - 1; // 0 for the first retry
    if (!shouldRetry(call, failure, retryNo)) return finalFailure(failure);
    if (!up.budget.tryWithdraw()) return budgetExhausted(call, failure);
    up.metrics.countRetry(retryCause(failure));
    const delay = nextDelay(call, failure, retryNo, prevDelay);
    prevDelay = delay;
    // A backoff that would end at or after the deadline cannot lead to a useful try.
    if (performance.now() + delay >= call.deadlineAt - 1) return finalFailure(failure);
    if (failure instanceof FailedTry) failure.response.stream?.discard();
    await sleep(delay, call);
  }
}

function finalFailure(failure: MeshError | FailedTry): TryResult {
  if (failure instanceof FailedTry) return failure.response;
  throw failure;
}

function shouldRetry(call: Call, f: MeshError | FailedTry, retryNo: number): boolean {
  const r = call.retry;
  if (!call.retryable || retryNo >= r.maxRetries) return false;
  if (f instanceof FailedTry) return r.statuses.includes(f.response.status);
  switch (f.code) {
    case 'MESH_ERR_CONNECT':
      return r.onConnectError;
    case 'MESH_ERR_TIMEOUT':
      return r.onTimeout;
    default:
      return false;
  }
}

function budgetExhausted(call: Call, failure: MeshError | FailedTry): TryResult {
  const up = call.up;
  up.metrics.budgetExhausted.inc();
  // A streaming call hands its 5xx back as is (streams never throw on status).
  if (failure instanceof FailedTry && call.streaming) return failure.response;
  const original = failure instanceof FailedTry ? statusError(up, failure.response, call.tries) : failure;
  throw new MeshError('MESH_ERR_BUDGET_EXHAUSTED', `${up.name}: retry budget spent; ${original.message}`, {
    upstream: up.name,
    cause: original,
    retryAfterSec: 1,
  });
}

function nextDelay(call: Call, failure: MeshError | FailedTry, retryNo: number, prevDelay: number): number {
  const up = call.up;
  const p = up.policy.retry;
  const delay = backoffDelay(p.backoff, retryNo, prevDelay, up.random);
  if (failure instanceof FailedTry && p.honorRetryAfter) {
    return parseRetryAfter(failure.response.headers['retry-after']) ?? delay;
  }
  return delay;
}

function sleep(ms: number, call: Call): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const signal = call.signal;
    const onAbort = () => {
      clearTimeout(t);
      reject(
        new MeshError('MESH_ERR_ABORTED', `${call.up.name}: call aborted by caller during backoff`, {
          upstream: call.up.name,
        }),
      );
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
