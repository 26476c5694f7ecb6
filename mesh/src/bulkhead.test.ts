import { describe, expect, it } from 'vitest';
import { Bulkhead } from './bulkhead.ts';

describe('Bulkhead', () => {
  it('hands freed slots to waiters in order and skips waiters that gave up', async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    const order: string[] = [];
    const gaveUp = new AbortController();
    const w1 = b.wait(new AbortController().signal).then(() => order.push('w1'));
    const w2 = b.wait(gaveUp.signal).then(
      () => order.push('w2'),
      () => order.push('w2 gave up'),
    );
    const w3 = b.wait(new AbortController().signal).then(() => order.push('w3'));
    expect(b.queued).toBe(3);
    expect(b.canQueue()).toBe(false);
    gaveUp.abort(new Error('deadline'));
    await w2;
    expect(b.queued).toBe(2);
    b.release(); // → w1
    await w1;
    b.release(); // → w3 (w2 is skipped)
    await w3;
    expect(order).toEqual(['w2 gave up', 'w1', 'w3']);
    expect(b.inUse).toBe(1);
    b.release();
    expect(b.inUse).toBe(0);
    expect(b.queued).toBe(0);
  });
});
