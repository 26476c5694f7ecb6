/**
 * The breaker adapter: every breaker in Breakwater is an opossum
 * CircuitBreaker behind this class — one per upstream in the mesh client
 * (seen by every try, so a retry storm trips it), and catalog's PostgreSQL
 * read breaker — with typed state events instead of opossum's string
 * events, and the state metrics (`bw_breaker_state`,
 * `bw_breaker_state_since_seconds`, `bw_breaker_transitions_total`,
 * label `upstream` = the breaker's name).
 *
 * Open interval that grows on repeated failure. A breaker that stays open
 * for a fixed 5 s keeps failing a recovered upstream's calls for up to 5 s
 * (issue 13 measured 11 % failed reads after a 4 s pause). Like
 * resilience4j's exponential wait in the open state and Envoy's ejection
 * time (base_ejection_time × ejection count, capped by max_ejection_time),
 * the first open lasts `openBaseMs` (500 ms by default), each re-open from a
 * failed half-open trial doubles it up to `resetTimeoutMs`, and a close
 * resets it to the base. So a short fault costs well under a second once the
 * upstream is back, while a dead upstream still sees only one trial call per
 * (growing) interval — opossum lets exactly one call through when half-open.
 *
 * Active trial (`probe`). Left to opossum, the half-open trial is the next
 * caller's request, so recovery also waits for traffic to arrive, and a
 * trial sent just before the upstream recovered holds the half-open state
 * for a whole per-try timeout. With a probe the breaker tests the upstream
 * itself once the open interval has passed: one short request (a cheap real
 * route, its own timeout), closing on a pass and re-opening with the doubled
 * interval on a failure — the same one trial per interval, without waiting
 * for a caller (catalog-latency measured 0.9–1.3 s to recover without it).
 * opossum's own timer is then parked and callers are refused until a probe
 * passes.
 *
 * A fresh window on close. opossum keeps its rolling window across a
 * close, so the first failure after a trial passed re-opens the breaker
 * (the window still holds the fault's failures) — after a dependency's
 * fault an upstream that answers 503 for a moment longer than its own
 * dependency's breaker (orders while its catalog breaker closes) is refused
 * for one more open interval per such failure. Like Hystrix (health counts
 * reset on close) and resilience4j (a new closed state, new metrics), the
 * closed breaker judges only what happened since it closed: the adapter
 * rotates opossum's buckets itself (its `rotateBucketController`) and
 * rotates all of them out on 'close'.
 *
 * Consecutive failures (`consecutiveFailures`, off by default). An
 * error-rate window reacts slowly to a dependency that stops answering: the
 * window's earlier successes must be outweighed first, so with 10 s of
 * steady traffic behind it the breaker opens seconds into a hang — and every
 * try until then times out on a connection of its own, which the dependency
 * must still work through once it is back (catalog-pause: ~330 abandoned TLS
 * handshakes queued at catalog after a 6 s SIGSTOP, 2 s of catching up
 * before a probe got through). N failed tries in a row open the breaker
 * whatever the window holds, as Polly's consecutive-failure breaker and
 * Envoy's consecutive_gateway_failure ejection do; any success resets the
 * count.
 *
 * opossum reads `options.resetTimeout` when it starts its timer on 'open';
 * the next interval is therefore set on 'halfOpen' (before the trial's
 * failure re-opens it) and on 'close'. opossum's own timeout and
 * AbortController are off: every try has its own abort channel (opossum's
 * shared one would abort every call in flight, its issue #780).
 */
import { EventEmitter } from 'node:events';
import { counter, gauge } from '@breakwater/observability';
import CircuitBreaker from 'opossum';
import type { UpstreamPolicy } from './policy.ts';

export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

/** The breaker fields of an upstream policy (policy.ts documents each, with defaults and units). */
export type BreakerSettings = Pick<
  UpstreamPolicy['breaker'],
  | 'errorThresholdPct'
  | 'volumeThreshold'
  | 'rollingWindowMs'
  | 'rollingBuckets'
  | 'openBaseMs'
  | 'resetTimeoutMs'
> &
  Partial<Pick<UpstreamPolicy['breaker'], 'consecutiveFailures'>>;

export interface BreakerOptions {
  /** Errors that say nothing about the protected resource (the caller gave up, a malformed call): not counted. */
  ignore?: (err: unknown) => boolean;
  /**
   * The active trial (see the header): resolves true when the upstream
   * answered well; aborted through `signal` after `timeoutMs`.
   */
  probe?: { run: (signal: AbortSignal) => Promise<boolean>; timeoutMs: number };
}

/** opossum's timer while a probe does the trials: never due (setTimeout's largest delay). */
const PARKED_MS = 2_147_483_647;

export type BreakerState = 'closed' | 'half-open' | 'open';
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

type Options = { resetTimeout: number };

/** opossum's error when it refuses a call while open (or half-open with its trial in flight). */
export function isBreakerOpenError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EOPENBREAKER';
}

/**
 * One breaker around `action`, which takes one argument (one argument, not a
 * rest list: the mesh fires it on every try and a spread costs there).
 */
export class Breaker<T, R> {
  readonly #name: string;
  readonly #cb: CircuitBreaker<[T], R>;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #listeners = new Set<(s: BreakerState) => void>();
  #state: BreakerState = 'closed';
  #since = 0;
  /** How long the current (or next) open lasts, ms. */
  #openMs: number;
  readonly #probe: BreakerOptions['probe'];
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #down = false;
  /** Drives opossum's bucket rotation: one 'rotate' per bucket interval, all buckets on close. */
  readonly #buckets = new EventEmitter();
  readonly #bucketTimer: ReturnType<typeof setInterval>;

  constructor(
    name: string,
    b: BreakerSettings,
    action: (arg: T) => Promise<R>,
    options: BreakerOptions = {},
  ) {
    this.#name = name;
    this.#capMs = b.resetTimeoutMs;
    this.#baseMs = Math.min(b.openBaseMs, b.resetTimeoutMs);
    this.#openMs = this.#baseMs;
    this.#probe = options.probe;
    const cb = new CircuitBreaker<[T], R>(action, {
      name,
      timeout: false, // the mesh times every try itself
      resetTimeout: this.#probe ? PARKED_MS : this.#openMs,
      errorThresholdPercentage: b.errorThresholdPct,
      volumeThreshold: b.volumeThreshold,
      rollingCountTimeout: b.rollingWindowMs,
      rollingCountBuckets: b.rollingBuckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      errorFilter: options.ignore ?? (() => false),
      rotateBucketController: this.#buckets,
    });
    this.#bucketTimer = setInterval(() => this.#buckets.emit('rotate'), b.rollingWindowMs / b.rollingBuckets);
    this.#bucketTimer.unref();
    // Consecutive failures (0: off) open the breaker whatever the window holds.
    const consecutive = b.consecutiveFailures ?? 0;
    if (consecutive > 0) {
      let failures = 0;
      cb.on('success', () => {
        failures = 0;
      });
      cb.on('failure', () => {
        if (++failures >= consecutive && cb.closed) cb.open();
      });
      cb.on('close', () => {
        failures = 0;
      });
    }
    cb.on('open', () => {
      this.#transition('open');
      if (this.#probe) this.#scheduleProbe();
    });
    cb.on('halfOpen', () => {
      // If the trial fails, the next open lasts twice as long (up to the cap).
      this.#setOpenMs(Math.min(this.#openMs * 2, this.#capMs));
      this.#transition('half-open');
    });
    cb.on('close', () => {
      for (let i = 0; i < b.rollingBuckets; i++) this.#buckets.emit('rotate');
      this.#setOpenMs(this.#baseMs);
      this.#transition('closed');
    });
    this.#cb = cb;
  }

  /** One try through the breaker: rejects with opossum's EOPENBREAKER while open. */
  fire(arg: T): Promise<R> {
    return this.#cb.fire(arg);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** When the breaker entered its state, epoch ms (0 before the first transition). */
  get since(): number {
    return this.#since;
  }

  /** How long the breaker stays open the next time it opens (or stays open now), ms. */
  get openIntervalMs(): number {
    return this.#openMs;
  }

  /** Seconds until the breaker lets a trial through (at least 1): the Retry-After of a fast 503. */
  retryAfterSec(): number {
    const left = this.#state === 'open' ? this.#since + this.#currentOpenMs - Date.now() : 0;
    return Math.max(1, Math.ceil(left / 1000));
  }

  onStateChange(listener: (state: BreakerState) => void): Disposable {
    this.#listeners.add(listener);
    const dispose = () => {
      this.#listeners.delete(listener);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  shutdown(): void {
    this.#down = true;
    clearTimeout(this.#probeTimer);
    clearInterval(this.#bucketTimer);
    this.#cb.shutdown();
  }

  #scheduleProbe(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#runProbe(), this.#currentOpenMs);
    this.#probeTimer.unref();
  }

  /** One active trial: close on a pass; on a failure stay open, twice as long (up to the cap). */
  async #runProbe(): Promise<void> {
    const probe = this.#probe;
    if (!probe || this.#down || this.#state !== 'open') return;
    this.#transition('half-open');
    let passed = false;
    try {
      passed = await probe.run(AbortSignal.timeout(probe.timeoutMs));
    } catch {
      passed = false;
    }
    if (this.#down) return;
    if (passed) {
      this.#cb.close(); // 'close' resets the interval and reports the state
      return;
    }
    this.#setOpenMs(Math.min(this.#openMs * 2, this.#capMs));
    this.#transition('open');
    this.#scheduleProbe();
  }

  /** The interval of the open now in force (set when it opened). */
  #currentOpenMs = 0;

  #setOpenMs(ms: number): void {
    this.#openMs = ms;
    if (!this.#probe) (this.#cb as unknown as { options: Options }).options.resetTimeout = ms;
  }

  #transition(s: BreakerState): void {
    if (s === this.#state) return;
    this.#state = s;
    this.#since = Date.now();
    if (s === 'open') this.#currentOpenMs = this.#openMs;
    gauge('breakerState').labels(this.#name).set(STATE_VALUE[s]);
    gauge('breakerStateSince')
      .labels(this.#name)
      .set(this.#since / 1000);
    counter('breakerTransitions').labels(this.#name, s).inc();
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch {
        // A listener's failure must not break the breaker.
      }
    }
  }
}
