/**
 * The circuit breaker in front of PostgreSQL for reads — the mesh's opossum
 * adapter (`Breaker` from @breakwater/mesh/breaker), like every other breaker
 * in Breakwater: same state metrics (`upstream="postgres"`), same growing
 * open interval. When the database hangs (paused, network partition) rather
 * than refusing connections, every read would wait out the connect or query
 * timeout before falling back to the stale copy; once more than half of the
 * reads in the last second failed (at least `volume` of them), reads skip
 * PostgreSQL and go straight to the stale copy (or the fast 503). After the
 * open interval one read is let through (half-open); its success closes the
 * breaker, its failure reopens it for twice as long (up to `openMs`).
 *
 * The hand-written breaker this replaces opened after 3 consecutive
 * failures. opossum has no consecutive mode; its rate over a short window is
 * the closest. Measured with opossum (sequential reads, each failing read
 * waiting a 300 ms timeout): after 6 successful reads it opens on the 4th
 * failing read (1.2 s) with a 1 s window, on the 7th (2.1 s) with a 10 s
 * window; after 200 reads at 40/s, on the 4th (1.3 s) with the 1 s window
 * and the 28th (9.1 s) with a 10 s one — hence the 1 s window.
 */
import { Breaker, type BreakerState, isBreakerOpenError } from '@breakwater/mesh/breaker';

export interface SourceBreakerOptions {
  /** Reads that must be seen in the window before the breaker may open. Default 3. */
  volume?: number;
  /** Longest time open before a trial read, ms (the cap of the growing interval). Default 2_000. */
  openMs?: number;
  /** First time open before a trial read, ms. Default 500 (capped by `openMs`). */
  openBaseMs?: number;
}

export class SourceOpenError extends Error {
  readonly code = 'CATALOG_ERR_SOURCE_OPEN';
  constructor() {
    super('postgres breaker open: skipping the database');
    this.name = 'SourceOpenError';
  }
}

type Read = () => Promise<unknown>;
const runRead = (read: Read): Promise<unknown> => read();

export class SourceBreaker {
  readonly #breaker: Breaker<Read, unknown>;

  constructor(o: SourceBreakerOptions = {}) {
    const volume = o.volume ?? 3;
    if (!(volume >= 1)) throw new RangeError(`volume must be >= 1, got ${volume}`);
    const openMs = o.openMs ?? 2_000;
    this.#breaker = new Breaker(
      'postgres',
      {
        errorThresholdPct: 50,
        volumeThreshold: volume,
        rollingWindowMs: 1_000, // short, so the successes before a hang age out fast (see above)
        rollingBuckets: 10,
        openBaseMs: Math.min(o.openBaseMs ?? 500, openMs),
        resetTimeoutMs: openMs,
      },
      runRead,
    );
  }

  get state(): BreakerState {
    return this.#breaker.state;
  }

  /** Runs `fn` unless the breaker is open (then throws SourceOpenError at once). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return (await this.#breaker.fire(fn)) as T;
    } catch (err) {
      if (isBreakerOpenError(err)) throw new SourceOpenError();
      throw err;
    }
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.#breaker.shutdown();
  }
}
