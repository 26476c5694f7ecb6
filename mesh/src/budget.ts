/**
 * A retry budget in the spirit of Finagle's `RetryBudget` and Envoy's
 * `retry_budget`: retries may add at most `percent` % of the request rate,
 * plus a floor of `minRetriesPerSec` so that a quiet client can still retry.
 *
 * Over a sliding window of `ttlMs` (kept as `buckets` slices):
 *
 *   allowed retries = percent/100 × requests + minRetriesPerSec × ttlMs/1000
 *
 * A retry is allowed while retries already spent in the window are below that.
 * When the budget is spent the caller fails with the original error instead of
 * retrying, so a dead upstream sees at most (1 + percent/100) × the offered
 * load plus the floor, never attempts × the load.
 */
export interface RetryBudgetSettings {
  /** Retries allowed as a percentage of requests (default 20). */
  percent: number;
  /** Retries per second allowed regardless of traffic (default 10). */
  minRetriesPerSec: number;
  /** Window length, ms (default 10 000). */
  ttlMs: number;
}

const BUCKETS = 10;

export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #sliceMs: number;
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  readonly #now: () => number;
  #slice = 0;
  #sliceStart: number;
  #reqSum = 0;
  #retrySum = 0;

  constructor(settings: RetryBudgetSettings, now: () => number = performance.now.bind(performance)) {
    this.#ratio = settings.percent / 100;
    this.#floor = settings.minRetriesPerSec * (settings.ttlMs / 1000);
    this.#sliceMs = settings.ttlMs / BUCKETS;
    this.#now = now;
    this.#sliceStart = now();
  }

  /** Count one request (a first try). `now` saves a clock read when the caller has one. */
  recordRequest(now: number = this.#now()): void {
    this.#advance(now);
    this.#requests[this.#slice] = (this.#requests[this.#slice] ?? 0) + 1;
    this.#reqSum += 1;
  }

  /** Spend one retry if the budget allows it; false when it is spent. */
  tryWithdraw(): boolean {
    this.#advance(this.#now());
    if (this.#retrySum + 1 > this.#ratio * this.#reqSum + this.#floor) return false;
    this.#retries[this.#slice] = (this.#retries[this.#slice] ?? 0) + 1;
    this.#retrySum += 1;
    return true;
  }

  /** Retries still allowed right now (for tests and dashboards). */
  available(): number {
    this.#advance(this.#now());
    return Math.max(0, Math.floor(this.#ratio * this.#reqSum + this.#floor - this.#retrySum));
  }

  #advance(now: number): void {
    const elapsed = now - this.#sliceStart;
    if (elapsed < this.#sliceMs) return;
    // Expire at most one full window of slices.
    let steps = Math.min(BUCKETS, Math.floor(elapsed / this.#sliceMs));
    this.#sliceStart += Math.floor(elapsed / this.#sliceMs) * this.#sliceMs;
    while (steps-- > 0) {
      this.#slice = (this.#slice + 1) % BUCKETS;
      this.#reqSum -= this.#requests[this.#slice] ?? 0;
      this.#retrySum -= this.#retries[this.#slice] ?? 0;
      this.#requests[this.#slice] = 0;
      this.#retries[this.#slice] = 0;
    }
  }
}
