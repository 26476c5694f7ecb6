/**
 * Stage 5, stale: stale-if-error at the edge (RFC 5861; nginx's
 * proxy_cache_use_stale error timeout http_500 http_502 http_503 http_504).
 * When the forward fails — a mesh error (breaker open, timeout, deadline,
 * connect failure, bulkhead full) or a 500/502/503/504 answer — and the route
 * keeps answers (gateway.yaml `staleIfError`), the last good answer to this
 * GET/HEAD is served instead, marked with Age (RFC 9111 §5.1) and Cache-Status
 * (RFC 9211): `breakwater; hit; fwd=stale; fwd-status=503; ttl=-12;
 * detail=breaker-open`. On a good answer it says whether the answer stage
 * should keep a copy (stale-cache.ts decides what may be kept).
 */
import { isMeshError } from '@breakwater/mesh/errors';
import { counter } from '@breakwater/observability';
import type { StaleCache, StaleEntry } from '../stale-cache.ts';
import type { RequestContext } from './context.ts';

/** Why a stale answer was served: the Cache-Status detail and the metric label. */
export type StaleReason =
  | 'breaker-open'
  | 'upstream-timeout'
  | 'upstream-overloaded'
  | 'upstream-unreachable'
  | 'upstream-status';

/** Upstream statuses answered from the kept copy (RFC 5861 §4: 500, 502, 503, 504). */
const STALE_ON_STATUS = new Set([500, 502, 503, 504]);

const staleAnswers = counter('gatewayStaleAnswers');

export function reasonOf(err: unknown): StaleReason | undefined {
  if (!isMeshError(err)) return undefined;
  switch (err.code) {
    case 'MESH_ERR_ABORTED':
      return undefined; // the client left: nobody to answer
    case 'MESH_ERR_BREAKER_OPEN':
      return 'breaker-open';
    case 'MESH_ERR_TIMEOUT':
    case 'MESH_ERR_DEADLINE':
      return 'upstream-timeout';
    case 'MESH_ERR_BULKHEAD_FULL':
    case 'MESH_ERR_BUDGET_EXHAUSTED':
    case 'MESH_ERR_CLOSED':
      return 'upstream-overloaded';
    default:
      return 'upstream-unreachable';
  }
}

function cacheOf(ctx: RequestContext): StaleCache | undefined {
  return ctx.state.stale.size === 0 ? undefined : ctx.state.stale.get(ctx.routeName);
}

/** The kept answer for this request, if the route keeps answers and one is still within its stale window. */
export function findStale(ctx: RequestContext): StaleEntry | undefined {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return undefined;
  const cache = cacheOf(ctx);
  if (cache === undefined || ctx.upstreamHeaders === undefined) return undefined;
  return cache.find(ctx.path + ctx.search, ctx.upstreamHeaders, Date.now());
}

/** Whether an upstream status is one a kept answer may stand in for. */
export function staleOnStatus(status: number): boolean {
  return STALE_ON_STATUS.has(status);
}

/** The cache to keep a copy of this good answer in, or undefined (not a GET 200 of such a route, or kept < 1 s ago). */
export function keeperOf(ctx: RequestContext, status: number): StaleCache | undefined {
  if (status !== 200 || ctx.method !== 'GET') return undefined;
  const cache = cacheOf(ctx);
  if (cache === undefined || !cache.wants(ctx.path + ctx.search, Date.now())) return undefined;
  return cache;
}

/** Answers with the kept copy in place of the upstream's failure. */
export function serveStale(
  ctx: RequestContext,
  entry: StaleEntry,
  reason: StaleReason,
  fwdStatus: number | undefined,
  via: string,
): void {
  const age = Math.max(0, Math.floor((Date.now() - entry.generatedAt) / 1000));
  const headers = { ...entry.headers };
  if (ctx.rateLimitHeaders) Object.assign(headers, ctx.rateLimitHeaders);
  headers.age = String(age);
  headers['cache-status'] =
    `breakwater; hit; fwd=stale${fwdStatus === undefined ? '' : `; fwd-status=${fwdStatus}`}; ttl=${entry.freshS - age}; detail=${reason}`;
  headers['x-request-id'] = ctx.requestId;
  const upstreamVia = entry.headers.via;
  headers.via = upstreamVia === undefined ? via : `${String(upstreamVia)}, ${via}`;
  headers['content-length'] = entry.body.length;
  ctx.res.writeHead(entry.status, headers);
  ctx.res.end(ctx.method === 'HEAD' ? undefined : entry.body);
  staleAnswers.labels(ctx.routeName, reason).inc();
}
