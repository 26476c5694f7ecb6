import { describe, expect, it } from 'vitest';
import { RetryBudget } from './budget.ts';

describe('RetryBudget', () => {
  it('allows percent of requests plus the floor, then refuses', () => {
    let now = 0;
    const b = new RetryBudget({ percent: 20, minRetriesPerSec: 1, ttlMs: 10_000 }, () => now);
    for (let i = 0; i < 100; i++) b.recordRequest();
    let granted = 0;
    for (let i = 0; i < 1000; i++) if (b.tryWithdraw()) granted++;
    // 20 % of 100 plus a floor of 1/s × 10 s.
    expect(granted).toBe(30);
    expect(b.available()).toBe(0);
    now += 500; // still inside the window
    expect(b.tryWithdraw()).toBe(false);
  });

  it('forgets requests and retries once they leave the window', () => {
    let now = 0;
    const b = new RetryBudget({ percent: 50, minRetriesPerSec: 0, ttlMs: 1_000 }, () => now);
    for (let i = 0; i < 10; i++) b.recordRequest();
    for (let i = 0; i < 5; i++) expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
    now += 1_100; // whole window expired
    expect(b.available()).toBe(0);
    b.recordRequest();
    b.recordRequest();
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
  });

  it('with no traffic still grants the floor', () => {
    const b = new RetryBudget({ percent: 20, minRetriesPerSec: 2, ttlMs: 1_000 }, () => 0);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
  });
});
