/**
 * The bulkhead step: a call takes a slot for all its tries and backoffs; when
 * none is free it waits in the bounded queue until a slot frees, the deadline
 * passes (MESH_ERR_DEADLINE) or the caller aborts (MESH_ERR_ABORTED); a full
 * queue is refused at once (MESH_ERR_BULKHEAD_FULL, 503 + Retry-After).
 */
import { MeshError } from '../errors.ts';
import type { Call } from './call.ts';

export async function waitForSlot(call: Call): Promise<void> {
  const up = call.up;
  const bulkhead = up.bulkhead;
  if (!bulkhead.canQueue()) {
    up.metrics.bulkheadRejected.inc();
    throw new MeshError(
      'MESH_ERR_BULKHEAD_FULL',
      `${up.name}: ${bulkhead.maxConcurrent} calls in flight and ${bulkhead.maxQueue} waiting`,
      { upstream: up.name, retryAfterSec: 1 },
    );
  }
  const remaining = call.deadlineAt - performance.now();
  const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(remaining)));
  const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
  try {
    await bulkhead.wait(signal);
  } catch {
    if (call.signal?.aborted) {
      throw new MeshError('MESH_ERR_ABORTED', `${up.name}: call aborted by caller while queued`, {
        upstream: up.name,
      });
    }
    throw new MeshError(
      'MESH_ERR_DEADLINE',
      `${up.name}: deadline passed while waiting for a bulkhead slot`,
      {
        upstream: up.name,
      },
    );
  }
}
