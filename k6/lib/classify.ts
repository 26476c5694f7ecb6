/**
 * The ok / degraded / failure rules (see outcome.ts), pure — no k6 imports —
 * so they are unit-tested under Node as well.
 */

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

export function header(res: ResponseLike, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(res.headers)) if (key.toLowerCase() === wanted) return res.headers[key];
  return undefined;
}

/**
 * Whether a `Cache-Status` field (RFC 9211) says the answer was served
 * stale: a member with `fwd=stale` (the gateway's stale-if-error answer:
 * `Cache-Status: bw-gateway; fwd=stale; fwd-status=503`), a bare `stale`
 * parameter, or a `hit` with a negative `ttl` (a stale hit, RFC 9211 §2.3).
 */
export function cacheStatusStale(field: string): boolean {
  return field.split(',').some((member) => {
    const params = member
      .split(';')
      .slice(1)
      .map((p) => p.trim().toLowerCase());
    if (params.includes('fwd=stale') || params.includes('stale')) return true;
    const ttl = params.find((p) => p.startsWith('ttl='));
    return params.includes('hit') && ttl !== undefined && Number(ttl.slice(4)) < 0;
  });
}

/**
 * Whether a 2xx was served stale. Accepted markers: `Cache-Status` as
 * {@link cacheStatusStale} reads it (the gateway's stale-if-error),
 * `Warning: 110 …` (RFC 7234 "Response is Stale") and `X-Cache: STALE`
 * (catalog's own Redis cache).
 */
export function isStale(res: ResponseLike): boolean {
  const warning = header(res, 'Warning') ?? '';
  const xCache = header(res, 'X-Cache') ?? '';
  return (
    cacheStatusStale(header(res, 'Cache-Status') ?? '') ||
    /^\s*110\b/.test(warning) ||
    /^stale$/i.test(xCache.trim())
  );
}

/**
 * @param normal statuses that are this route's normal answer besides 2xx —
 *   `202` is degraded (accepted-pending) unless the route lists it here, and
 *   a route may list a non-2xx it expects (say `404` for a lookup).
 */
export function classify(res: ResponseLike, normal: readonly number[] = []): Classified {
  const { status } = res;
  if (status >= 200 && status < 300) {
    if (status === 202 && !normal.includes(202)) return { outcome: 'degraded', reason: 'accepted' };
    return isStale(res) ? { outcome: 'degraded', reason: 'stale' } : { outcome: 'ok' };
  }
  if (normal.includes(status)) return { outcome: 'ok' };
  if (status === 429) return { outcome: 'degraded', reason: 'rate_limited' };
  if (status === 503 && header(res, 'Retry-After') !== undefined)
    return { outcome: 'degraded', reason: 'unavailable' };
  return { outcome: 'failure' };
}
