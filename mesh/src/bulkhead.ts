/**
 * A bulkhead: at most `maxConcurrent` calls hold a slot; up to `maxQueue`
 * more wait in FIFO order (each no longer than its own deadline); any call
 * beyond that is rejected at once. Maps to Envoy's circuit_breakers
 * `max_requests` / `max_pending_requests` and Istio's `http2MaxRequests` /
 * `http1MaxPendingRequests`.
 */
export interface BulkheadSettings {
  /** Calls allowed at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; 0 rejects as soon as all slots are busy. */
  maxQueue: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  done: boolean;
}

export class Bulkhead {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  #inUse = 0;
  #queue: Waiter[] = [];
  #head = 0;
  #waiting = 0;

  constructor(settings: BulkheadSettings) {
    this.maxConcurrent = settings.maxConcurrent;
    this.maxQueue = settings.maxQueue;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#waiting;
  }

  /** Takes a slot if one is free (the fast path: no promise, no allocation). */
  tryAcquire(): boolean {
    if (this.#inUse < this.maxConcurrent) {
      this.#inUse++;
      return true;
    }
    return false;
  }

  /** True when a call could wait in the queue right now. */
  canQueue(): boolean {
    return this.queued < this.maxQueue;
  }

  /**
   * Waits for a slot. The caller must have checked `canQueue()`. Rejects with
   * `signal.reason` if the signal aborts first; the slot is then not taken.
   */
  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, done: false };
      const onAbort = () => {
        if (waiter.done) return;
        waiter.done = true;
        this.#waiting--;
        reject(signal.reason);
      };
      waiter.resolve = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting++;
      this.#queue.push(waiter);
    });
  }

  /** Gives the slot back, handing it straight to the first live waiter. */
  release(): void {
    while (this.#head < this.#queue.length) {
      const w = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as unknown as Waiter;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (w && !w.done) {
        w.done = true;
        this.#waiting--;
        w.resolve();
        return; // the slot passes to the waiter; inUse unchanged
      }
    }
    this.#inUse--;
  }
}
