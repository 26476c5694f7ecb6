/**
 * Outlier detection per endpoint, with Envoy's semantics (cluster
 * outlier_detection, source/common/upstream/outlier_detection_impl.cc),
 * without split_external_local_origin_errors: a connect failure counts as a
 * 503 and a try timeout as a 504, as Envoy maps local-origin errors.
 *
 * - consecutive_5xx / consecutive_gateway_failure: the result that makes the
 *   counter reach the threshold ejects at once (if enforced); the counter is
 *   then reset. A non-5xx resets both, a 5xx that is not 502/503/504 resets
 *   the gateway counter. An ejected endpoint is not ejected again.
 * - every interval (`sweep`): endpoints whose ejection has run out come back
 *   (base_ejection_time × times ejected, capped at max_ejection_time), then
 *   failure percentage judges the interval that just ended: endpoints not
 *   ejected with ≥ request_volume requests; if at least minimum_hosts of them,
 *   each failing ≥ threshold % is ejected (if enforced). Finally an endpoint
 *   back for a whole interval has its ejection multiplier decremented.
 * - an ejection is refused when it would take the ejected share above
 *   max_ejection_percent: 100 × (ejected + 1) / endpoints ≤ max.
 * - enforcing_*: the % chance a detection really ejects (Envoy's runtime
 *   featureEnabled); 0 detects and counts only.
 *
 * Success-rate (stdev) ejection is not implemented: Envoy only runs it with
 * ≥ 5 hosts of ≥ 100 requests each, more than the mesh runs locally.
 * The detector is pure: the caller feeds results and calls `sweep` on a
 * timer (or a fake clock in tests).
 */
import type { UpstreamPolicy } from '../policy.ts';

export type OutlierPolicy = UpstreamPolicy['outlierDetection'];
export type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'failure_percentage';

export interface OutlierEvents<K> {
  eject?(key: K, type: EjectionType): void;
  uneject?(key: K): void;
}

class HostState {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  ejected = false;
  ejectedAt = 0;
  unejectedAt: number | undefined = undefined;
  /** Envoy's eject_time_backoff: the multiplier of base_ejection_time. */
  backoff = 0;
  numEjections = 0;
  total = 0;
  failed = 0;
  /** The interval that ended last (Envoy's backup bucket). */
  lastTotal = 0;
  lastFailed = 0;
}

export class OutlierDetector<K> {
  readonly #p: OutlierPolicy;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #events: OutlierEvents<K>;
  readonly #hosts = new Map<K, HostState>();
  #ejected = 0;

  constructor(p: OutlierPolicy, now: () => number, random: () => number, events: OutlierEvents<K> = {}) {
    this.#p = p;
    this.#now = now;
    this.#random = random;
    this.#events = events;
  }

  get ejectedCount(): number {
    return this.#ejected;
  }

  add(key: K): void {
    if (!this.#hosts.has(key)) this.#hosts.set(key, new HostState());
  }

  remove(key: K): void {
    const h = this.#hosts.get(key);
    if (!h) return;
    if (h.ejected) this.#ejected--;
    this.#hosts.delete(key);
  }

  isEjected(key: K): boolean {
    return this.#hosts.get(key)?.ejected === true;
  }

  /** Times `key` was ejected so far. */
  ejections(key: K): number {
    return this.#hosts.get(key)?.numEjections ?? 0;
  }

  /** One try's result: an HTTP status (a connect failure as 503, a try timeout as 504). */
  put(key: K, status: number): void {
    const h = this.#hosts.get(key);
    if (!h) return;
    h.total++;
    if (status < 500 || status > 599) {
      h.consecutive5xx = 0;
      h.consecutiveGateway = 0;
      return;
    }
    h.failed++;
    const p = this.#p;
    if (status === 502 || status === 503 || status === 504) {
      if (++h.consecutiveGateway === p.consecutiveGatewayFailure && !h.ejected) {
        this.#eject(key, h, 'consecutive_gateway_failure', p.enforcingConsecutiveGatewayFailure);
        h.consecutiveGateway = 0;
      }
    } else {
      h.consecutiveGateway = 0;
    }
    if (++h.consecutive5xx === p.consecutive5xx && !h.ejected) {
      this.#eject(key, h, 'consecutive_5xx', p.enforcingConsecutive5xx);
      h.consecutive5xx = 0;
    }
  }

  /** The interval timer's work (Envoy's onIntervalTimer). */
  sweep(): void {
    const p = this.#p;
    const now = this.#now();
    for (const [key, h] of this.#hosts) {
      if (h.ejected) {
        const time = Math.min(p.baseEjectionTimeMs * h.backoff, p.maxEjectionTimeMs);
        if (time <= now - h.ejectedAt) this.#uneject(key, h, now);
      }
      h.lastTotal = h.total;
      h.lastFailed = h.failed;
      h.total = 0;
      h.failed = 0;
    }
    this.#failurePercentage();
    for (const h of this.#hosts.values()) {
      if (!h.ejected && h.unejectedAt !== undefined && now - h.unejectedAt >= p.intervalMs && h.backoff > 0) {
        h.backoff--;
      }
    }
  }

  #failurePercentage(): void {
    const p = this.#p;
    if (this.#hosts.size < p.failurePercentageMinimumHosts) return;
    const valid: Array<[K, HostState]> = [];
    for (const entry of this.#hosts) {
      const h = entry[1];
      if (!h.ejected && h.lastTotal > 0 && h.lastTotal >= p.failurePercentageRequestVolume) valid.push(entry);
    }
    if (valid.length === 0 || valid.length < p.failurePercentageMinimumHosts) return;
    for (const [key, h] of valid) {
      if ((100 * h.lastFailed) / h.lastTotal >= p.failurePercentageThreshold) {
        this.#eject(key, h, 'failure_percentage', p.enforcingFailurePercentage);
      }
    }
  }

  #eject(key: K, h: HostState, type: EjectionType, enforcing: number): void {
    const p = this.#p;
    if ((100 * (this.#ejected + 1)) / this.#hosts.size > p.maxEjectionPercent) return;
    // Envoy's featureEnabled(percent): a uniform draw below the percentage.
    if (!(this.#random() * 100 < enforcing)) return;
    this.#ejected++;
    h.ejected = true;
    h.ejectedAt = this.#now();
    h.numEjections++;
    if (h.backoff * p.baseEjectionTimeMs < p.maxEjectionTimeMs + p.baseEjectionTimeMs) h.backoff++;
    this.#events.eject?.(key, type);
  }

  #uneject(key: K, h: HostState, now: number): void {
    this.#ejected--;
    h.ejected = false;
    h.unejectedAt = now;
    // As Envoy: a fresh start, so a counter left near its threshold does not re-eject on a few errors.
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    this.#events.uneject?.(key);
  }
}
