/**
 * Every answer is one of three outcomes, so a drill can say "degraded is fine,
 * failing is not":
 *
 * - `ok`: the route's normal answer (2xx, or a status the route declares).
 * - `degraded`: an answer the platform gives on purpose while a part is down
 *   or a limit applies — `202` where the route normally answers 200
 *   (accepted-pending), `429` (rate limited), `503` *with* `Retry-After` (a
 *   fast, honest refusal), or a `200` marked stale (served from cache).
 *   Counted in the `degraded` counter, tagged by `reason`.
 * - `failure`: anything else — other 4xx/5xx, a 503 without `Retry-After`,
 *   a network error or timeout (status 0). Recorded in the `failures` rate.
 *
 * `http.setResponseCallback` marks 429 and 503 as expected too, so k6's
 * built-in `http_req_failed` agrees for the status-only cases; `failures` is
 * the stricter verdict because it also reads headers.
 */

import http from 'k6/http';
import { Counter, Rate } from 'k6/metrics';

export type Outcome = 'ok' | 'degraded' | 'failure';
export type DegradedReason = 'accepted' | 'rate_limited' | 'unavailable' | 'stale';

export interface Classified {
  readonly outcome: Outcome;
  readonly reason?: DegradedReason;
}

/** The subset of a k6 response the classification reads (easy to build in a test). */
export interface ResponseLike {
  readonly status: number;
  readonly headers: Record<string, string>;
}

/** Counts degraded answers; tags: `route`, `phase`, `reason`. */
export const degraded = new Counter('degraded');
/** Share of requests that failed (not ok, not degraded); tags: `route`, `phase`. */
export const failures = new Rate('failures');

/** Expected statuses for k6's own `http_req_failed` (see above). */
export function installResponseCallback(): void {
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 429, 503));
}

export function header(res: ResponseLike, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(res.headers)) if (key.toLowerCase() === wanted) return res.headers[key];
  return undefined;
}

/**
 * Whether a 2xx was served stale. Accepted markers: `Cache-Status: …; stale`
 * (RFC 9211 style), `Warning: 110 …` (RFC 7234 "Response is Stale") and
 * `X-Cache: STALE`.
 */
export function isStale(res: ResponseLike): boolean {
  const cacheStatus = header(res, 'Cache-Status') ?? '';
  const warning = header(res, 'Warning') ?? '';
  const xCache = header(res, 'X-Cache') ?? '';
  return /\bstale\b/i.test(cacheStatus) || /^\s*110\b/.test(warning) || /^stale$/i.test(xCache.trim());
}

/**
 * @param normal statuses that are this route's normal answer (default: 200–299
 *   except 202, which only routes that declare it treat as normal).
 */
export function classify(res: ResponseLike, normal?: readonly number[]): Classified {
  const { status } = res;
  if (normal?.includes(status))
    return isStale(res) ? { outcome: 'degraded', reason: 'stale' } : { outcome: 'ok' };
  if (status === 202) return { outcome: 'degraded', reason: 'accepted' };
  if (status >= 200 && status < 300 && normal === undefined) {
    return isStale(res) ? { outcome: 'degraded', reason: 'stale' } : { outcome: 'ok' };
  }
  if (status === 429) return { outcome: 'degraded', reason: 'rate_limited' };
  if (status === 503 && header(res, 'Retry-After') !== undefined)
    return { outcome: 'degraded', reason: 'unavailable' };
  return { outcome: 'failure' };
}

/** Classifies `res` and records it in `degraded` / `failures` with `tags`. */
export function record(
  res: ResponseLike,
  tags: Record<string, string>,
  normal?: readonly number[],
): Classified {
  const result = classify(res, normal);
  failures.add(result.outcome === 'failure', tags);
  if (result.outcome === 'degraded') degraded.add(1, { ...tags, reason: result.reason ?? 'unknown' });
  return result;
}
