/**
 * A small circuit breaker in front of PostgreSQL for reads. When the
 * database hangs (paused, network partition) rather than refusing
 * connections, every read would wait out the connect or query timeout
 * before falling back to the stale copy. After `failures` consecutive
 * failures the breaker opens for `openMs`: reads skip PostgreSQL and go
 * straight to the stale copy (or the fast 503). Then one read is let through
 * (half-open); its success closes the breaker, its failure reopens it.
 */
export interface SourceBreakerOptions {
  /** Consecutive failures that open the breaker. Default 3. */
  failures?: number;
  /** Time open before a trial read, ms. Default 2_000. */
  openMs?: number;
  now?: () => number;
  /** Told the state after every call that changed it (for the breaker-state metric). */
  onState?: (state: 'closed' | 'open' | 'half-open') => void;
}

export class SourceOpenError extends Error {
  readonly code = 'CATALOG_ERR_SOURCE_OPEN';
  constructor() {
    super('postgres breaker open: skipping the database');
    this.name = 'SourceOpenError';
  }
}

export class SourceBreaker {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  #consecutive = 0;
  #openUntil = 0;
  #trialInFlight = false;
  readonly #onState: ((state: 'closed' | 'open' | 'half-open') => void) | undefined;
  #reported: 'closed' | 'open' | 'half-open' = 'closed';

  constructor(o: SourceBreakerOptions = {}) {
    this.#threshold = o.failures ?? 3;
    this.#openMs = o.openMs ?? 2_000;
    this.#now = o.now ?? Date.now;
    this.#onState = o.onState;
    if (!(this.#threshold >= 1)) throw new RangeError(`failures must be >= 1, got ${this.#threshold}`);
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#consecutive < this.#threshold) return 'closed';
    return this.#now() < this.#openUntil ? 'open' : 'half-open';
  }

  /** Runs `fn` unless the breaker is open (then throws SourceOpenError at once). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.#trialInFlight)) throw new SourceOpenError();
    const trial = state === 'half-open';
    if (trial) this.#trialInFlight = true;
    try {
      const v = await fn();
      this.#consecutive = 0;
      return v;
    } catch (err) {
      this.#consecutive++;
      if (this.#consecutive >= this.#threshold) this.#openUntil = this.#now() + this.#openMs;
      throw err;
    } finally {
      if (trial) this.#trialInFlight = false;
      this.#report();
    }
  }

  #report(): void {
    const s = this.state;
    if (s === this.#reported) return;
    this.#reported = s;
    this.#onState?.(s);
  }
}
