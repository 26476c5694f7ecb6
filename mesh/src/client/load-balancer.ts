/**
 * The endpoints of an upstream with more than one (or a changing set): one
 * undici Pool per endpoint, the picker, the outlier detector and its
 * interval timer, and the metrics. The upstream asks `choose` for each try
 * and reports the try's result with `done`; an upstream with one static
 * endpoint has no LoadBalancer at all (upstream.ts keeps its single pool).
 *
 * Candidates (recomputed only when the set or an ejection changes): ready
 * endpoints not ejected; when fewer than healthyPanicThreshold % of the ready
 * ones are healthy, every ready endpoint (Envoy's panic mode). A not-ready
 * endpoint (starting or draining) gets no new try, even in panic.
 */
import { counter, gauge } from '@breakwater/observability';
import type { Pool } from 'undici';
import { MeshError } from '../errors.ts';
import type { ClientTls } from '../identity/client-tls.ts';
import type { UpstreamPolicy } from '../policy.ts';
import { EndpointPicker, type PickableEndpoint } from './endpoint-picker.ts';
import type { EndpointSource, EndpointSpec } from './endpoint-source.ts';
import { OutlierDetector } from './outlier-detector.ts';
import { createPool } from './pool.ts';
import { FailedTry } from './try-result.ts';
import type { Disposable } from './types.ts';

/**
 * The status the outlier detector sees for a failed try, as Envoy maps
 * local-origin errors: a connect failure 503, a try cut by a timeout 504;
 * 0 (no verdict) when the caller gave up or the response was too large.
 */
export function outlierStatus(e: unknown): number {
  if (e instanceof FailedTry) return e.response.status;
  if (!(e instanceof MeshError)) return 0;
  switch (e.code) {
    case 'MESH_ERR_CONNECT':
      return 503;
    case 'MESH_ERR_TIMEOUT':
    case 'MESH_ERR_DEADLINE':
      return 504;
    default:
      return 0;
  }
}

export class Endpoint implements PickableEndpoint {
  readonly origin: string;
  readonly pool: Pool;
  active = 0;
  ready: boolean;

  constructor(origin: string, ready: boolean, p: UpstreamPolicy, tls?: ClientTls) {
    this.origin = origin;
    this.ready = ready;
    this.pool = createPool(origin, p, tls);
  }
}

export interface LoadBalancerOptions {
  name: string;
  policy: UpstreamPolicy;
  source: EndpointSource;
  random: () => number;
  /** mTLS for `https://` endpoints. */
  tls?: ClientTls | undefined;
  /** Monotonic ms (tests pass a fake clock). */
  now?: () => number;
}

export class LoadBalancer {
  readonly name: string;
  readonly #policy: UpstreamPolicy;
  readonly #source: EndpointSource;
  readonly #tls: ClientTls | undefined;
  readonly #picker: EndpointPicker<Endpoint>;
  readonly #detector: OutlierDetector<Endpoint> | undefined;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #subscription: Disposable;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #ejectionsActive;
  readonly #healthy;
  #candidates: Endpoint[] = [];
  /** Pools of removed endpoints still closing (close() waits for them). */
  readonly #closing = new Set<Promise<unknown>>();

  constructor(o: LoadBalancerOptions) {
    this.name = o.name;
    this.#policy = o.policy;
    this.#source = o.source;
    this.#tls = o.tls;
    this.#picker = new EndpointPicker(o.policy.loadBalancer, o.random);
    this.#ejectionsActive = gauge('upstreamEjectionsActive').labels(o.name);
    this.#healthy = gauge('upstreamEndpointsHealthy').labels(o.name);
    const od = o.policy.outlierDetection;
    if (od.enabled) {
      const ejections = counter('upstreamEjections');
      this.#detector = new OutlierDetector<Endpoint>(
        od,
        o.now ?? performance.now.bind(performance),
        o.random,
        {
          eject: (ep, type) => {
            ejections.labels(o.name, ep.origin, type).inc();
            this.#recompute();
          },
          uneject: () => this.#recompute(),
        },
      );
      this.#timer = setInterval(() => this.#detector?.sweep(), od.intervalMs);
      this.#timer.unref();
    }
    this.#apply(o.source.current());
    this.#subscription = o.source.subscribe((set) => this.#apply(set));
  }

  /** The endpoint for the next try (another than `previous` where one exists), or undefined when none is ready. */
  choose(previous: Endpoint | undefined): Endpoint | undefined {
    const c = this.#candidates;
    if (c.length === 0) return undefined;
    const ep = this.#picker.pick(c, previous);
    ep.active++;
    return ep;
  }

  /** The try on `ep` ended with `status` (a connect failure as 503, a try timeout as 504; 0: no verdict). */
  done(ep: Endpoint, status: number): void {
    ep.active--;
    if (status !== 0) this.#detector?.put(ep, status);
  }

  /** Runs one outlier sweep now (tests; the timer does it every interval). */
  sweep(): void {
    this.#detector?.sweep();
  }

  /** Endpoints by origin: ready, ejected, active (stats and tests). */
  snapshot(): Array<{ origin: string; ready: boolean; ejected: boolean; active: number }> {
    return [...this.#endpoints.values()].map((e) => ({
      origin: e.origin,
      ready: e.ready,
      ejected: this.#detector?.isEjected(e) ?? false,
      active: e.active,
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#subscription.dispose();
    this.#source.close();
    const pools = [...this.#endpoints.values()].map((e) => e.pool.close());
    this.#endpoints.clear();
    this.#candidates = [];
    await Promise.allSettled([...pools, ...this.#closing]);
  }

  #apply(set: readonly EndpointSpec[]): void {
    const seen = new Set<string>();
    for (const spec of set) {
      const origin = new URL(spec.url).origin;
      seen.add(origin);
      const ep = this.#endpoints.get(origin);
      if (ep) ep.ready = spec.ready;
      else {
        const fresh = new Endpoint(origin, spec.ready, this.#policy, this.#tls);
        this.#endpoints.set(origin, fresh);
        this.#detector?.add(fresh);
      }
    }
    for (const [origin, ep] of this.#endpoints) {
      if (seen.has(origin)) continue;
      this.#endpoints.delete(origin);
      this.#detector?.remove(ep);
      // Tries in flight on a removed endpoint finish; the pool closes after them.
      const closing: Promise<unknown> = ep.pool.close().then(
        () => this.#closing.delete(closing),
        () => this.#closing.delete(closing),
      );
      this.#closing.add(closing);
    }
    this.#recompute();
  }

  #recompute(): void {
    const ready: Endpoint[] = [];
    const healthy: Endpoint[] = [];
    for (const ep of this.#endpoints.values()) {
      if (!ep.ready) continue;
      ready.push(ep);
      if (!this.#detector?.isEjected(ep)) healthy.push(ep);
    }
    const panic = this.#policy.loadBalancer.healthyPanicThreshold;
    const inPanic = ready.length > 0 && panic > 0 && (100 * healthy.length) / ready.length < panic;
    this.#candidates = inPanic ? ready : healthy;
    this.#healthy.set(healthy.length);
    this.#ejectionsActive.set(this.#detector?.ejectedCount ?? 0);
  }
}
