/**
 * Backoff between retries, with jitter so that callers that failed together
 * do not retry together (AWS Architecture Blog, "Exponential Backoff and
 * Jitter", 2015). `n` is the retry index (0 for the first retry), `base` and
 * `cap` are milliseconds, `random()` is uniform on [0, 1).
 *
 * Full jitter:        delay(n) = random() × min(cap, base × 2ⁿ)
 *                     → uniform on [0, min(cap, base·2ⁿ)).
 * Decorrelated jitter: delay(n) = min(cap, base + random() × (3 × prev − base)),
 *                     prev = delay(n−1), prev(−1) = base
 *                     → uniform on [base, min(cap, 3·prev)).
 *
 * Full jitter spreads load best and is the default; decorrelated jitter
 * never waits less than `base`. Both are bounded by `cap`.
 */

export type JitterKind = 'full' | 'decorrelated';

export interface BackoffSettings {
  /** First step, ms. */
  baseMs: number;
  /** Upper bound of any delay, ms. */
  capMs: number;
  jitter: JitterKind;
}

/** Upper bound (exclusive) of the full-jitter delay for retry `n`. */
export function fullJitterCeiling(n: number, baseMs: number, capMs: number): number {
  // 2ⁿ overflows to Infinity for large n, and min() keeps the cap.
  return Math.min(capMs, baseMs * 2 ** n);
}

/** Full jitter: uniform on [0, min(cap, base·2ⁿ)). */
export function fullJitter(
  n: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return random() * fullJitterCeiling(n, baseMs, capMs);
}

/** Decorrelated jitter: uniform on [base, min(cap, 3·prev)), never above cap. */
export function decorrelatedJitter(
  prevMs: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const hi = Math.max(baseMs, prevMs * 3);
  return Math.min(capMs, baseMs + random() * (hi - baseMs));
}

/**
 * The delay before retry `n` given the previous delay (used by decorrelated
 * jitter only; pass 0 before the first retry).
 */
export function backoffDelay(
  settings: BackoffSettings,
  n: number,
  prevMs: number,
  random: () => number = Math.random,
): number {
  if (settings.jitter === 'decorrelated') {
    return decorrelatedJitter(prevMs > 0 ? prevMs : settings.baseMs, settings.baseMs, settings.capMs, random);
  }
  return fullJitter(n, settings.baseMs, settings.capMs, random);
}

/**
 * A Retry-After header value (delta-seconds or an HTTP date) as milliseconds
 * from `nowMs` (wall clock), or undefined when absent or unparseable.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
