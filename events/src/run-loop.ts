/**
 * The one loop behind the outbox relay and the stream consumer: run a turn
 * until the signal aborts; after a failed turn, report it and wait a floor
 * plus full-jitter backoff over the consecutive failures (@breakwater/mesh
 * backoff.ts), so relays and consumers that failed together do not retry
 * together. Any wait ends early when the signal aborts.
 */
import { fullJitter } from '@breakwater/mesh';

export interface RunLoopOptions {
  /** Wait after every failed turn before the jitter, ms. */
  floorMs: number;
  /** Full-jitter base and cap, ms. Defaults 100 and 2_000. */
  baseMs?: number;
  capMs?: number;
  /** Called after each failed turn (not when the signal aborted it), with the consecutive failures so far. */
  onError(err: unknown, failures: number): void;
}

/** Calls `turn` until `signal` aborts; a turn that succeeds resets the failure count. */
export async function runWithBackoff(
  signal: AbortSignal,
  turn: () => Promise<void>,
  o: RunLoopOptions,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      await turn();
      failures = 0;
    } catch (err) {
      if (signal.aborted) break;
      failures++;
      o.onError(err, failures);
      await pause(o.floorMs + fullJitter(failures, o.baseMs ?? 100, o.capMs ?? 2_000), signal);
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first; never rejects. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
