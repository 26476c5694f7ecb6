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

export function rateLimitHeaders(d: Decision): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-policy': d.windows.map((w) => `"per-${w.name}";q=${w.limit};w=${w.seconds}`).join(', '),
    ratelimit: d.windows.map((w) => `"per-${w.name}";r=${w.remaining};t=${seconds(w.resetMs)}`).join(', '),
  };
  if (!d.policy.hideClientHeaders) {
    const tightest = mostRestrictive(d.windows);
    if (tightest) {
      h['ratelimit-limit'] = String(tightest.limit);
      h['ratelimit-remaining'] = String(tightest.remaining);
      h['ratelimit-reset'] = String(seconds(tightest.resetMs));
    }
    for (const w of d.windows) {
      h[`X-RateLimit-Limit-${cap(w.name)}`] = String(w.limit);
      h[`X-RateLimit-Remaining-${cap(w.name)}`] = String(w.remaining);
    }
  }
  if (!d.allowed) h['retry-after'] = String(retryAfterSeconds(d.windows));
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
