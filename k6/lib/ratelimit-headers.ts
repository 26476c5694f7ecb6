/**
 * Reads the limit a server says applies, from whichever header family it
 * speaks. Pure (no k6 imports) so it is unit-tested under Node too.
 *
 * - `RateLimit-Policy: 10;w=1` or `10, 10;w=1, 600;w=60`
 *   (draft-ietf-httpapi-ratelimit-headers up to -07: the first bare number is
 *   the current quota; items with `w=` are policies)
 * - `RateLimit-Policy: "default";q=10;w=1` (draft -08 and later)
 * - `X-RateLimit-Limit-Second|Minute|Hour|Day: 10` (Kong)
 * - `X-RateLimit-Limit: 10` with `X-RateLimit-Window: 1` (seconds) if present
 *
 * The answer is the tightest policy as a rate per second. Over a run of D
 * seconds a policy of q per w seconds admits about q/w per second when w ≤ D,
 * but up to q in total (q/D per second) when its window outlasts the run — so
 * a per-minute quota does not bind a 20 s run that stays under it.
 */

export interface LimitPolicy {
  /** Requests admitted per window. */
  readonly quota: number;
  /** Window length in seconds. */
  readonly windowS: number;
}

export function parseRateLimitPolicy(value: string): LimitPolicy[] {
  const policies: LimitPolicy[] = [];
  for (const item of value.split(',')) {
    const params = item
      .trim()
      .split(';')
      .map((p) => p.trim());
    const head = params[0] ?? '';
    let quota = /^\d+(\.\d+)?$/.test(head) ? Number(head) : undefined;
    let windowS: number | undefined;
    for (const param of params.slice(1)) {
      const [k, v] = param.split('=').map((s) => s.trim());
      if (k === 'w' && v !== undefined) windowS = Number(v);
      if (k === 'q' && v !== undefined) quota = Number(v);
    }
    if (quota !== undefined && windowS !== undefined && Number.isFinite(quota) && windowS > 0) {
      policies.push({ quota, windowS });
    }
  }
  return policies;
}

const KONG_UNITS: Record<string, number> = { second: 1, minute: 60, hour: 3_600, day: 86_400 };

/** All policies a response announces; `headers` keys in any case. */
export function policiesFrom(headers: Record<string, string>): LimitPolicy[] {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  const policy = lower['ratelimit-policy'];
  if (policy !== undefined) {
    const parsed = parseRateLimitPolicy(policy);
    if (parsed.length > 0) return parsed;
  }
  const kong: LimitPolicy[] = [];
  for (const [unit, windowS] of Object.entries(KONG_UNITS)) {
    const v = lower[`x-ratelimit-limit-${unit}`];
    if (v !== undefined && Number.isFinite(Number(v))) kong.push({ quota: Number(v), windowS });
  }
  if (kong.length > 0) return kong;
  const plain = lower['x-ratelimit-limit'];
  const window = lower['x-ratelimit-window'];
  if (plain !== undefined && window !== undefined && Number(window) > 0) {
    return [{ quota: Number(plain), windowS: Number(window) }];
  }
  return [];
}

/**
 * The tightest policy as requests per second over a run of `runS` seconds
 * (default: an unbounded run), or undefined when none is announced.
 */
export function limitPerSecond(
  policies: readonly LimitPolicy[],
  runS = Number.POSITIVE_INFINITY,
): number | undefined {
  if (policies.length === 0) return undefined;
  return Math.min(...policies.map((p) => p.quota / Math.min(p.windowS, runS)));
}
