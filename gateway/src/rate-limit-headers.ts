/**
 * Response fields for a rate-limit decision:
 *  - always the IETF draft's (draft-ietf-httpapi-ratelimit-headers-10/11)
 *    `RateLimit-Policy: "per-minute";q=100;w=60` and
 *    `RateLimit: "per-minute";r=42;t=18`, one list member per window;
 *  - unless the policy hides client headers, the fields clients already parse
 *    from Kong: `RateLimit-Limit/-Remaining/-Reset` for the most restrictive
 *    window and `X-RateLimit-Limit-<Window>` / `X-RateLimit-Remaining-<Window>`;
 *  - on a refusal, `Retry-After`: the longest reset among the windows that
 *    refused, rounded up to whole seconds, so never earlier than the reset.
 */
import type { Decision, WindowDecision } from './rate-limit.ts';

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * What stays the same from one decision to the next under a policy while its
 * limits do: the RateLimit-Policy value and Kong's field names. Built once per
 * policy and set of limits, not per request (this runs on every answer).
 */
interface FixedFields {
  limits: number[];
  policy: string;
  limitNames: string[];
  remainingNames: string[];
}
const fixedFields = new WeakMap<Decision['policy'], FixedFields>();

function fixedOf(d: Decision): FixedFields {
  const cached = fixedFields.get(d.policy);
  if (cached !== undefined && sameLimits(cached.limits, d.windows)) return cached;
  const fields: FixedFields = {
    limits: d.windows.map((w) => w.limit),
    policy: d.windows.map((w) => `"per-${w.name}";q=${w.limit};w=${w.seconds}`).join(', '),
    limitNames: d.windows.map((w) => `X-RateLimit-Limit-${cap(w.name)}`),
    remainingNames: d.windows.map((w) => `X-RateLimit-Remaining-${cap(w.name)}`),
  };
  fixedFields.set(d.policy, fields);
  return fields;
}

function sameLimits(limits: readonly number[], windows: readonly WindowDecision[]): boolean {
  if (limits.length !== windows.length) return false;
  for (let i = 0; i < limits.length; i++) if (limits[i] !== windows[i]?.limit) return false;
  return true;
}

export function rateLimitHeaders(d: Decision): Record<string, string> {
  const fixed = fixedOf(d);
  const { windows } = d;
  let current = '';
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i] as WindowDecision;
    current += `${i === 0 ? '' : ', '}"per-${w.name}";r=${w.remaining};t=${seconds(w.resetMs)}`;
  }
  const h: Record<string, string> = { 'ratelimit-policy': fixed.policy, ratelimit: current };
  if (!d.policy.hideClientHeaders) {
    const tightest = mostRestrictive(windows);
    if (tightest) {
      h['ratelimit-limit'] = String(tightest.limit);
      h['ratelimit-remaining'] = String(tightest.remaining);
      h['ratelimit-reset'] = String(seconds(tightest.resetMs));
    }
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i] as WindowDecision;
      h[fixed.limitNames[i] as string] = String(w.limit);
      h[fixed.remainingNames[i] as string] = String(w.remaining);
    }
  }
  if (!d.allowed) h['retry-after'] = String(retryAfterSeconds(windows));
  return h;
}

/** Fewest requests left; on a tie the one that resets last. */
export function mostRestrictive(windows: readonly WindowDecision[]): WindowDecision | undefined {
  let best: WindowDecision | undefined;
  for (const w of windows) {
    if (!best || w.remaining < best.remaining || (w.remaining === best.remaining && w.resetMs > best.resetMs))
      best = w;
  }
  return best;
}

export function retryAfterSeconds(windows: readonly WindowDecision[]): number {
  let ms = 0;
  for (const w of windows) if (w.blocking && w.resetMs > ms) ms = w.resetMs;
  return Math.max(1, seconds(ms));
}
