/**
 * The answer when a stage refuses or the upstream fails and nothing stale can
 * stand in: RFC 9457 problem+json with a stable code, the request id, the
 * rate-limit fields when a policy applied, and no-store. A mesh failure maps
 * to the status an edge proxy would give (503 + Retry-After, 504, 502).
 */
import { isMeshError, type MeshError } from '@breakwater/mesh/errors';
import type { Logger } from '@breakwater/observability';
import { GatewayError, isGatewayError, problemOf } from '../errors.ts';
import type { RequestContext } from './context.ts';

export const PROBLEM_JSON = 'application/problem+json';

/** Status an upstream failure answers with, by mesh error code. */
export function gatewayErrorOf(err: MeshError): GatewayError {
  const retryAfter = err.retryAfterSec === undefined ? undefined : String(err.retryAfterSec);
  switch (err.code) {
    case 'MESH_ERR_ABORTED':
      return new GatewayError('GW_ERR_BAD_REQUEST', 'Client went away');
    case 'MESH_ERR_BREAKER_OPEN':
      return new GatewayError(
        'GW_ERR_UPSTREAM_UNAVAILABLE',
        'The upstream is failing; its circuit breaker is open',
        {
          cause: err,
          headers: { 'retry-after': retryAfter ?? '1' },
        },
      );
    case 'MESH_ERR_BULKHEAD_FULL':
    case 'MESH_ERR_BUDGET_EXHAUSTED':
    case 'MESH_ERR_CLOSED':
      return new GatewayError('GW_ERR_UPSTREAM_UNAVAILABLE', 'The upstream is overloaded', {
        cause: err,
        headers: { 'retry-after': retryAfter ?? '1' },
      });
    case 'MESH_ERR_TIMEOUT':
    case 'MESH_ERR_DEADLINE':
      return new GatewayError('GW_ERR_UPSTREAM_TIMEOUT', 'The upstream did not answer in time', {
        cause: err,
      });
    default:
      return new GatewayError('GW_ERR_BAD_GATEWAY', 'The upstream could not be reached', {
        cause: err,
        headers: retryAfter ? { 'retry-after': retryAfter } : {},
      });
  }
}

/** Any failure as the GatewayError the client sees; upstream 5xx and surprises are logged. */
export function errorOf(ctx: RequestContext, e: unknown, log: Logger): GatewayError {
  if (isGatewayError(e)) return e;
  if (isMeshError(e)) {
    const err = gatewayErrorOf(e);
    if (err.status >= 500)
      log.warn(
        { route: ctx.routeName, code: e.code, err: e.message, request_id: ctx.requestId },
        'upstream call failed',
      );
    return err;
  }
  log.error({ err: e, route: ctx.routeName, request_id: ctx.requestId }, 'unexpected error');
  return new GatewayError('GW_ERR_BAD_GATEWAY', 'Unexpected gateway error');
}

export function refuse(ctx: RequestContext, err: GatewayError, via: string): void {
  const { req, res } = ctx;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemOf(err, ctx.requestId, ctx.path || req.url?.split('?')[0]));
  // A request body we did not read would be parsed as the next request: close instead.
  const unread =
    !req.complete &&
    (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');
  res.writeHead(err.status, {
    ...ctx.rateLimitHeaders,
    via,
    ...(unread ? { connection: 'close' } : {}),
    ...err.headers,
    'content-type': PROBLEM_JSON,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': ctx.requestId,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
