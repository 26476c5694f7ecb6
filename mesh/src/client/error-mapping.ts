/**
 * Error mapping: every failure a try or a call can meet becomes one MeshError
 * with a stable code (undici's, opossum's and the socket's codes stay in
 * `cause` and `extensions.errno`). Only this file knows foreign error codes.
 */
import { parseRetryAfter } from '../backoff.ts';
import { isBreakerOpenError } from '../breaker.ts';
import { MeshError } from '../errors.ts';
import type { Call } from './call.ts';
import { FailedTry, type TryResult } from './try-result.ts';
import type { UpstreamClient } from './upstream.ts';

/**
 * How long a caller should wait after the upstream could not be reached: a
 * restarting process is usually back within a second, and an early retry is
 * what Envoy's 503 "upstream connect error" invites too.
 */
const CONNECT_RETRY_AFTER_SEC = 1;

/** The error for an upstream failure status (5xx) left after the tries. */
export function statusError(up: UpstreamClient, res: TryResult, tries: number): MeshError {
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  return new MeshError(
    'MESH_ERR_UPSTREAM_STATUS',
    `${up.name}: upstream answered ${res.status} after ${tries} ${tries === 1 ? 'try' : 'tries'}`,
    {
      upstream: up.name,
      upstreamStatus: res.status,
      retryAfterSec: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
      extensions: { upstreamBody: res.body?.subarray(0, 2048).toString('utf8') },
    },
  );
}

/** The error for a try whose time ran out (its own timeout, or the call's deadline). */
export function tryTimeoutError(call: Call): MeshError {
  const up = call.up;
  if (call.tryCutIsDeadline) {
    return new MeshError('MESH_ERR_DEADLINE', `${up.name}: deadline exceeded during try ${call.tries}`, {
      upstream: up.name,
    });
  }
  up.metrics.timeoutTry.inc();
  return new MeshError(
    'MESH_ERR_TIMEOUT',
    `${up.name}: try ${call.tries} timed out after ${call.timeoutMs} ms`,
    {
      upstream: up.name,
    },
  );
}

/** Socket codes of a connection that broke under a sent request (the rest of MESH_ERR_CONNECT never reached the upstream). */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/**
 * What a failed try is counted as when it is retried (bw_upstream_retries_total's
 * cause), in the words of Envoy's retry_on: the status for a retried status
 * (only the policy's few), `per_try_timeout`, `reset` for a connection that
 * broke under the request, `connect_failure` for one never made (refused, no
 * ready endpoint, connect timeout). A drill tells a leaving instance (reset,
 * connect_failure) from a slow one (per_try_timeout) by it.
 */
export function retryCause(failure: MeshError | FailedTry): string {
  if (failure instanceof FailedTry) return `status_${failure.response.status}`;
  if (failure.code === 'MESH_ERR_TIMEOUT') return 'per_try_timeout';
  return RESET_CODES.has(String(failure.extensions?.errno)) ? 'reset' : 'connect_failure';
}

/**
 * Any thrown value as a MeshError of this upstream. Whatever is left after
 * the known codes is a failure to reach the upstream or a connection it cut
 * (refused, reset, socket closed, connect or header timeout of the pool):
 * MESH_ERR_CONNECT, 503 with Retry-After, with the socket's code as `errno`.
 */
export function asMeshError(up: UpstreamClient, e: unknown): MeshError {
  if (e instanceof MeshError) return e;
  if (e instanceof FailedTry) return statusError(up, e.response, 0);
  const code = (e as { code?: string } | null)?.code;
  if (isBreakerOpenError(e)) {
    return new MeshError('MESH_ERR_BREAKER_OPEN', `${up.name}: circuit breaker is ${up.state}`, {
      upstream: up.name,
      retryAfterSec: up.breaker?.retryAfterSec() ?? 1,
    });
  }
  if (code === 'ESHUTDOWN') {
    return new MeshError('MESH_ERR_CLOSED', `${up.name}: client closed`, { upstream: up.name, cause: e });
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return new MeshError('MESH_ERR_INVALID_REQUEST', `${up.name}: ${(e as Error).message}`, {
      upstream: up.name,
      cause: e,
    });
  }
  const causeCode = (e as { cause?: { code?: string } } | null)?.cause?.code;
  const msg = (e as Error)?.message ?? String(e);
  return new MeshError('MESH_ERR_CONNECT', `${up.name}: ${code ?? causeCode ?? 'error'}: ${msg}`, {
    upstream: up.name,
    cause: e,
    retryAfterSec: CONNECT_RETRY_AFTER_SEC,
    extensions: code || causeCode ? { errno: code ?? causeCode } : undefined,
  });
}
