import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  decorrelatedJitter,
  fullJitter,
  fullJitterCeiling,
  parseRetryAfter,
} from './backoff.ts';

describe('full jitter', () => {
  it('keeps every delay of many retries within [0, min(cap, base·2ⁿ)) and spreads them', () => {
    const base = 25;
    const cap = 250;
    for (let n = 0; n < 8; n++) {
      const ceiling = fullJitterCeiling(n, base, cap);
      expect(ceiling).toBe(Math.min(cap, base * 2 ** n));
      const delays = Array.from({ length: 500 }, () => fullJitter(n, base, cap));
      for (const d of delays) {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
      expect(new Set(delays).size).toBeGreaterThan(400);
      // Uniform: the mean sits near the middle of the interval.
      const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
      expect(mean).toBeGreaterThan(ceiling * 0.4);
      expect(mean).toBeLessThan(ceiling * 0.6);
    }
  });

  it('never exceeds the cap, even for huge retry numbers', () => {
    expect(fullJitterCeiling(2000, 25, 250)).toBe(250);
    expect(fullJitter(2000, 25, 250, () => 0.999999)).toBeLessThan(250);
  });
});

describe('decorrelated jitter', () => {
  it('stays within [base, min(cap, 3·prev)] and is not constant', () => {
    const base = 10;
    const cap = 1000;
    let prev = base;
    const seen: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const d = decorrelatedJitter(prev, base, cap);
      expect(d).toBeGreaterThanOrEqual(base);
      expect(d).toBeLessThanOrEqual(Math.min(cap, 3 * prev));
      seen.push(d);
      prev = d;
    }
    // Once at the cap it stays clamped there; below it every draw differs.
    const belowCap = seen.filter((d) => d < cap);
    expect(belowCap.length).toBeGreaterThan(20);
    expect(new Set(belowCap).size).toBe(belowCap.length);
    expect(seen.some((d) => d === cap)).toBe(true);
  });

  it('is selected by the policy and starts from base', () => {
    const d = backoffDelay({ baseMs: 20, capMs: 100, jitter: 'decorrelated' }, 0, 0, () => 0.5);
    expect(d).toBe(20 + 0.5 * (60 - 20));
    expect(backoffDelay({ baseMs: 20, capMs: 100, jitter: 'full' }, 2, 0, () => 0.5)).toBe(40);
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates, and ignores garbage', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(['2'])).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2025 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
