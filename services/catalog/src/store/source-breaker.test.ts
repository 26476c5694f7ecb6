import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SourceBreaker, SourceOpenError } from './source-breaker.ts';

const fail = () => Promise.reject(new Error('db down'));
const ok = () => Promise.resolve('row');

let breakers: SourceBreaker[] = [];
function breaker(o: ConstructorParameters<typeof SourceBreaker>[0] = {}): SourceBreaker {
  const b = new SourceBreaker(o);
  breakers.push(b);
  return b;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const b of breakers) b.close();
  breakers = [];
  vi.useRealTimers();
});

describe('SourceBreaker (opossum through the mesh adapter)', () => {
  it('opens when most of the last second’s reads failed, refuses at once, and lets one trial through after the open interval', async () => {
    const b = breaker({ volume: 3, openBaseMs: 100, openMs: 1_000 });
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

    await vi.advanceTimersByTimeAsync(100);
    expect(b.state).toBe('half-open');
    await expect(b.run(fail)).rejects.toThrow('db down'); // failed trial: open again, for twice as long
    expect(b.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    expect(b.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    expect(b.state).toBe('half-open');
    await expect(b.run(ok)).resolves.toBe('row'); // successful trial closes it
    expect(b.state).toBe('closed');
  });

  it('stays closed while most reads of the window succeed, and old successes age out within a second', async () => {
    const b = breaker({ volume: 3 });
    for (let i = 0; i < 4; i++) await b.run(ok);
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow('db down');
    expect(b.state).toBe('closed'); // 3 of 7 failed
    await vi.advanceTimersByTimeAsync(1_100); // the window moved on
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow();
    expect(b.state).toBe('open');
  });

  it('allows a single trial at a time while half-open', async () => {
    const b = breaker({ volume: 1, openBaseMs: 10 });
    await expect(b.run(fail)).rejects.toThrow();
    await vi.advanceTimersByTimeAsync(10);
    let release!: () => void;
    const trial = b.run(() => new Promise<string>((r) => (release = () => r('row'))));
    await expect(b.run(ok)).rejects.toBeInstanceOf(SourceOpenError);
    release();
    await expect(trial).resolves.toBe('row');
    expect(b.state).toBe('closed');
  });

  it('refuses a volume below 1', () => {
    expect(() => new SourceBreaker({ volume: 0 })).toThrow(RangeError);
  });
});
