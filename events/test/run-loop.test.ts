import { describe, expect, it } from 'vitest';
import { pause, runWithBackoff } from '../src/run-loop.ts';

describe('runWithBackoff (the relay and the consumer loop)', () => {
  it('counts consecutive failures, resets them after a good turn, and stops when the signal aborts', async () => {
    const ac = new AbortController();
    const script = ['fail', 'fail', 'ok', 'fail', 'stop'];
    const reported: number[] = [];
    let turns = 0;
    await runWithBackoff(
      ac.signal,
      async () => {
        const step = script[turns++];
        if (step === 'stop') ac.abort();
        else if (step === 'fail') throw new Error(`turn ${turns}`);
      },
      { floorMs: 1, baseMs: 1, capMs: 2, onError: (_err, failures) => reported.push(failures) },
    );
    expect(turns).toBe(5);
    expect(reported).toEqual([1, 2, 1]);
  });

  it('does not report a turn the abort itself failed, and an abort ends the backoff wait at once', async () => {
    const ac = new AbortController();
    const reported: unknown[] = [];
    const started = Date.now();
    const loop = runWithBackoff(
      ac.signal,
      async () => {
        throw new Error('redis down');
      },
      { floorMs: 60_000, onError: (err) => reported.push(err) },
    );
    await pause(20);
    ac.abort();
    await loop;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(reported).toHaveLength(1);
  });
});
