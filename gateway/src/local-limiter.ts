/**
 * The per-instance limiter a fail-open policy falls back to while Redis is
 * unreachable: the same two algorithms as the Redis script, counted in this
 * process only (so N gateways admit up to N × the limit until Redis is back).
 * Plain functions over a Map, no I/O; entries of past windows are swept.
 */
import type { WindowDecision } from './rate-limit.ts';

interface Entry {
  /** fixed: count in the window starting at `start`; sliding: theoretical arrival time (ms). */
  value: number;
  start: number;
  expiresAt: number;
}

export interface LocalWindow {
  name: string;
  seconds: number;
  limit: number;
  key: string;
}

export class LocalLimiter {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #lastSweep = 0;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  decide(
    mode: 'fixed' | 'sliding',
    windows: readonly LocalWindow[],
    now = Date.now(),
  ): { allowed: boolean; windows: WindowDecision[] } {
    this.#sweep(now);
    let allowed = true;
    const state = windows.map((w) => {
      const wms = w.seconds * 1000;
      const e = this.#entries.get(w.key);
      if (mode === 'fixed') {
        const start = now - (now % wms);
        const used = e && e.start === start ? e.value : 0;
        const blocking = used + 1 > w.limit;
        if (blocking) allowed = false;
        return { w, wms, start, cur: used, blocking, reset: start + wms - now };
      }
      const tat = Math.max(e?.value ?? 0, now);
      const interval = wms / w.limit;
      const allowAt = tat + interval - wms;
      const blocking = allowAt > now;
      if (blocking) allowed = false;
      return { w, wms, start: 0, cur: tat, blocking, reset: blocking ? allowAt - now : 0 };
    });
    const out = state.map((s): WindowDecision => {
      let remaining: number;
      let reset = s.reset;
      if (mode === 'fixed') {
        if (allowed)
          this.#entries.set(s.w.key, { value: s.cur + 1, start: s.start, expiresAt: s.start + s.wms });
        remaining = s.w.limit - s.cur - (allowed ? 1 : 0);
      } else {
        const interval = s.wms / s.w.limit;
        let tat = s.cur;
        if (allowed) {
          tat += interval;
          this.#entries.set(s.w.key, { value: tat, start: 0, expiresAt: tat });
        }
        remaining = Math.floor((now + s.wms - tat) / interval);
        if (!s.blocking) reset = tat - now;
      }
      return {
        name: s.w.name,
        seconds: s.w.seconds,
        limit: s.w.limit,
        remaining: Math.max(0, remaining),
        resetMs: Math.ceil(reset),
        blocking: s.blocking,
      };
    });
    return { allowed, windows: out };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 1000 && this.#entries.size < this.#maxEntries) return;
    this.#lastSweep = now;
    for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k);
    // Still full (a flood of distinct identities): forget the oldest rather than grow without bound.
    if (this.#entries.size >= this.#maxEntries) {
      let drop = this.#entries.size - Math.floor(this.#maxEntries * 0.9);
      for (const k of this.#entries.keys()) {
        if (drop-- <= 0) break;
        this.#entries.delete(k);
      }
    }
  }
}
