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
import { type Classified, classify, type ResponseLike } from './classify.ts';

export * from './classify.ts';

/** Counts degraded answers; tags: `route`, `phase`, `reason`. */
export const degraded = new Counter('degraded');
/** Share of requests that failed (not ok, not degraded); tags: `route`, `phase`. */
export const failures = new Rate('failures');

/** Expected statuses for k6's own `http_req_failed` (see above). */
export function installResponseCallback(): void {
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 429, 503));
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
