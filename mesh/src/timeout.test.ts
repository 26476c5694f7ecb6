import { describe, expect, it, vi } from 'vitest';
import { settlesWithin, TimeoutError, withTimeout } from './timeout.ts';

describe('withTimeout', () => {
  it('settles with the work when it finishes in time and clears its timer', async () => {
    vi.useFakeTimers();
    try {
      const p = withTimeout(async () => 42, 1_000);
      await expect(p).resolves.toBe(42);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects with a TimeoutError and aborts the work’s signal when time runs out', async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const p = withTimeout(
        (signal) => {
          seen = signal;
          return new Promise(() => {});
        },
        100,
        'closer x timed out',
      );
      const assertion = expect(p).rejects.toMatchObject({
        code: 'ERR_TIMEOUT',
        message: 'closer x timed out',
      });
      await vi.advanceTimersByTimeAsync(100);
      await assertion;
      expect(seen?.aborted).toBe(true);
      expect(seen?.reason).toBeInstanceOf(TimeoutError);
    } finally {
      vi.useRealTimers();
    }
  });

  it('passes the work’s own rejection through, and a synchronous throw too', async () => {
    await expect(withTimeout(() => Promise.reject(new Error('boom')), 1_000)).rejects.toThrow('boom');
    await expect(
      withTimeout(() => {
        throw new Error('sync');
      }, 1_000),
    ).rejects.toThrow('sync');
  });
});

describe('settlesWithin', () => {
  it('is true when the promise settles (even rejected) in time, false when the time runs out', async () => {
    vi.useFakeTimers();
    try {
      expect(await settlesWithin(Promise.resolve(1), 50)).toBe(true);
      expect(await settlesWithin(Promise.reject(new Error('x')), 50)).toBe(true);
      const never = settlesWithin(new Promise(() => {}), 50);
      await vi.advanceTimersByTimeAsync(50);
      expect(await never).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
