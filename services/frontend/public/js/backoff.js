/**
 * Waiting rules the page follows: exponential backoff with jitter between
 * polls and retries, and the server's Retry-After when it gives one.
 * Pure functions, no DOM, so they are unit-tested under Node too.
 */

/**
 * @typedef {object} BackoffOptions
 * @property {number} [initialMs] first delay, ms (default 500)
 * @property {number} [factor] growth per attempt (default 1.6)
 * @property {number} [maxMs] cap, ms (default 5000)
 * @property {number} [jitter] ± share of the delay drawn at random (default 0.2)
 */

/**
 * Delay before attempt `attempt` (0-based): initialMs × factor^attempt, capped
 * at maxMs, spread by ±jitter so many open pages do not poll in step.
 * @param {number} attempt
 * @param {BackoffOptions} [options]
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const initialMs = options.initialMs ?? 500;
  const factor = options.factor ?? 1.6;
  const maxMs = options.maxMs ?? 5_000;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())));
}

/**
 * Retry-After (RFC 9110: delay-seconds or an HTTP-date) in ms from `now`;
 * undefined when absent or unreadable.
 * @param {string | null | undefined} value
 * @param {number} [now]
 * @returns {number | undefined}
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long to wait before trying again: the server's Retry-After when it gave
 * one (never less), otherwise the backoff for this attempt.
 * @param {number | undefined} retryAfterMs
 * @param {number} attempt
 * @param {BackoffOptions} [options]
 * @returns {number}
 */
export function nextWait(retryAfterMs, attempt, options) {
  return retryAfterMs ?? backoffDelay(attempt, options);
}

/** @param {number} ms */
export function seconds(ms) {
  return Math.max(1, Math.ceil(ms / 1_000));
}
