/**
 * The one timeout helper: every "wait for this, but not longer than that" in
 * the repo goes through here, so the timer is always cleared and the work is
 * told (through its AbortSignal) when nobody waits for it any more.
 */

/** Thrown by `withTimeout` when the time ran out; `code` is stable. */
export class TimeoutError extends Error {
  readonly code = 'ERR_TIMEOUT';
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Runs `work` and settles with its result, or rejects with a TimeoutError
 * (`message`) after `ms`. The signal handed to `work` aborts at the timeout,
 * so work that honours it stops instead of running on unobserved.
 */
export function withTimeout<T>(
  work: (signal: AbortSignal) => Promise<T> | T,
  ms: number,
  message = `timed out after ${ms} ms`,
): Promise<T> {
  const ac = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new TimeoutError(message, ms);
      ac.abort(err);
      reject(err);
    }, ms);
    Promise.resolve()
      .then(() => work(ac.signal))
      .then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
  });
}

/**
 * Waits for `promise` at most `ms`: true when it settled in time (fulfilled
 * or rejected), false when the time ran out first. For waits whose outcome
 * decides the next step (drain, then cut connections; SIGTERM, then SIGKILL).
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(
    () =>
      promise.then(
        () => true,
        () => true,
      ),
    ms,
  ).catch((err) => {
    if (err instanceof TimeoutError) return false;
    throw err;
  });
}
