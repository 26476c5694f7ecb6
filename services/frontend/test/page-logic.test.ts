/**
 * The page's waiting rules (public/js/backoff.js), run under Node: they are
 * plain ES modules without DOM access.
 */
import { describe, expect, it } from 'vitest';

interface BackoffModule {
  backoffDelay(attempt: number, options?: object, random?: () => number): number;
  parseRetryAfter(value: string | null | undefined, now?: number): number | undefined;
  nextWait(retryAfterMs: number | undefined, attempt: number, options?: object): number;
}

// A variable specifier: the module is browser JavaScript, not part of the TypeScript program.
const modulePath = '../public/js/backoff.js';
const { backoffDelay, parseRetryAfter, nextWait } = (await import(modulePath)) as BackoffModule;

describe('poll backoff', () => {
  it('grows by the factor and stops at the cap', () => {
    const mid = () => 0.5; // no jitter
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((n) =>
      backoffDelay(n, { initialMs: 500, maxMs: 5_000 }, mid),
    );
    expect(delays).toEqual([500, 800, 1280, 2048, 3277, 5000, 5000, 5000]);
  });

  it('spreads each delay by at most ±jitter', () => {
    expect(backoffDelay(0, { initialMs: 1_000, jitter: 0.2 }, () => 0)).toBe(800);
    expect(backoffDelay(0, { initialMs: 1_000, jitter: 0.2 }, () => 0.999_999)).toBe(1_200);
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:07 GMT', now)).toBe(7_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('wins over the backoff when the server gives one', () => {
    expect(nextWait(4_000, 0, { initialMs: 100 })).toBe(4_000);
    expect(nextWait(undefined, 0, { initialMs: 100, jitter: 0 })).toBe(100);
  });
});

const apiPath = '../public/js/api.js';
const { isStale } = (await import(apiPath)) as { isStale(headers: Headers): boolean };

describe('stale answers', () => {
  it("knows catalog's own marks and the gateway's Cache-Status fwd=stale, and nothing else", () => {
    expect(isStale(new Headers({ warning: '110 - "Response is Stale"' }))).toBe(true);
    expect(isStale(new Headers({ 'x-cache': 'stale' }))).toBe(true);
    expect(isStale(new Headers({ 'cache-status': 'breakwater; hit; fwd=stale; fwd-status=503; ttl=-3' }))).toBe(true);
    expect(isStale(new Headers({ 'cache-status': 'breakwater; fwd=uri-miss' }))).toBe(false);
    expect(isStale(new Headers({ 'x-cache': 'hit' }))).toBe(false);
    expect(isStale(new Headers())).toBe(false);
  });
});
