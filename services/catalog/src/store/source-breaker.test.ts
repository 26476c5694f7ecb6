import { describe, expect, it } from 'vitest';
import { SourceBreaker, SourceOpenError } from './source-breaker.ts';

const fail = () => Promise.reject(new Error('db down'));
const ok = () => Promise.resolve('row');

describe('SourceBreaker', () => {
  it('opens after 3 consecutive failures, refuses at once while open, lets one trial through after openMs', async () => {
    let now = 0;
    const b = new SourceBreaker({ failures: 3, openMs: 1_000, now: () => now });
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow('db down');
    expect(b.state).toBe('open');
    let called = false;
    await expect(
      b.run(() => {
        called = true;
        return ok();
      }),
    ).rejects.toBeInstanceOf(SourceOpenError);
    expect(called).toBe(false);

    now = 1_000;
    expect(b.state).toBe('half-open');
    await expect(b.run(fail)).rejects.toThrow('db down'); // failed trial: open again
    expect(b.state).toBe('open');
    now = 2_000;
    await expect(b.run(ok)).resolves.toBe('row'); // successful trial closes it
    expect(b.state).toBe('closed');
  });

  it('a success resets the count: failures must be consecutive', async () => {
    const b = new SourceBreaker({ failures: 2 });
    await expect(b.run(fail)).rejects.toThrow();
    await b.run(ok);
    await expect(b.run(fail)).rejects.toThrow();
    expect(b.state).toBe('closed');
  });

  it('allows a single trial at a time while half-open', async () => {
    let now = 0;
    const b = new SourceBreaker({ failures: 1, openMs: 10, now: () => now });
    await expect(b.run(fail)).rejects.toThrow();
    now = 10;
    let release!: () => void;
    const trial = b.run(() => new Promise<string>((r) => (release = () => r('row'))));
    await expect(b.run(ok)).rejects.toBeInstanceOf(SourceOpenError);
    release();
    await expect(trial).resolves.toBe('row');
  });

  it('reports state changes', async () => {
    let now = 0;
    const seen: string[] = [];
    const b = new SourceBreaker({ failures: 1, openMs: 10, now: () => now, onState: (s) => seen.push(s) });
    await expect(b.run(fail)).rejects.toThrow();
    now = 10;
    await b.run(ok);
    expect(seen).toEqual(['open', 'closed']);
  });

  it('refuses a threshold below 1', () => {
    expect(() => new SourceBreaker({ failures: 0 })).toThrow(RangeError);
  });
});
