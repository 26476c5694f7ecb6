/**
 * The upstream factory: one client per upstream, built once (module level or
 * at start-up) so that its breaker, budget and bulkhead are shared by every
 * call.
 *
 *   bulkhead ─▶ retry loop (budget, backoff, deadline) ─▶ breaker ─▶ one try (timeout)
 *
 * - The bulkhead slot is held for the whole call (all tries and backoffs).
 * - The deadline covers every try and every backoff (as Envoy's route
 *   timeout): a try never runs past it, a backoff that would end after it is
 *   not taken. Each try sends min(per-try timeout, remaining deadline) in
 *   `x-bw-timeout-ms` so the callee stops in time.
 * - The breaker (opossum) sees every try, so a retry storm trips it.
 *
 * Each step lives in its own file: bulkhead-wait, retry-loop, breaker, try,
 * dispatch-handler; errors are mapped in error-mapping, metrics and spans in
 * telemetry.
 */
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import type { Pool } from 'undici';
import { Breaker, type BreakerState } from '../breaker.ts';
import { RetryBudget } from '../budget.ts';
import { Bulkhead } from '../bulkhead.ts';
import { MeshError } from '../errors.ts';
import type { ClientTls } from '../identity/client-tls.ts';
import { processIdentity } from '../identity/process-identity.ts';
import { spiffeId } from '../identity/spiffe.ts';
import { parsePolicy, type UpstreamPolicy } from '../policy.ts';
import { waitForSlot } from './bulkhead-wait.ts';
import { Call, onCallerAbort } from './call.ts';
import { type EndpointSource, staticEndpoints } from './endpoint-source.ts';
import { asMeshError, statusError } from './error-mapping.ts';
import { LoadBalancer } from './load-balancer.ts';
import { createPool } from './pool.ts';
import { MeshResponse, type MeshStreamResponse } from './response.ts';
import { fireTry, retryLoop } from './retry-loop.ts';
import { checkCallOptions, RetryViews } from './retry-view.ts';
import type { StreamingTry } from './streaming-try.ts';
import { OUTCOME_OF, type Outcomes, startCallSpan, UpstreamMetrics } from './telemetry.ts';
import { tryOnce } from './try.ts';
import type { TryResult } from './try-result.ts';
import type { CallOptions, Disposable, Fallback, Upstream, UpstreamOptions, UpstreamStats } from './types.ts';

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024; // 16 MiB

const NO_SUBSCRIPTION: Disposable = { dispose() {}, [Symbol.dispose]() {} };

/** The breaker's active trial: one GET straight on the pool (no retry, budget or bulkhead); < 500 passes. */
async function probeAnswers(pool: Pool, path: string, signal: AbortSignal): Promise<boolean> {
  const res = await pool.request({
    method: 'GET',
    path,
    signal,
    headers: { 'user-agent': 'breakwater-mesh-probe' },
  });
  await res.body.dump();
  return res.statusCode < 500;
}

export class UpstreamClient implements Upstream {
  readonly name: string;
  readonly policy: UpstreamPolicy;
  readonly pathPrefix: string;
  /** The pool of a single static endpoint (the fast path), or undefined when `lb` picks per try. */
  readonly pool: Pool | undefined;
  /** Balancing and outlier detection over several (or changing) endpoints. */
  readonly lb: LoadBalancer | undefined;
  readonly breaker: Breaker<Call, TryResult> | undefined;
  readonly budget: RetryBudget;
  readonly bulkhead: Bulkhead;
  readonly fallback: Fallback | undefined;
  readonly random: () => number;
  readonly maxResponseBytes: number;
  readonly metrics: UpstreamMetrics;
  readonly #retryViews: RetryViews;
  #closed = false;

  constructor(o: UpstreamOptions) {
    if (!o.name || typeof o.name !== 'string') {
      throw new MeshError('MESH_ERR_INVALID_POLICY', 'createUpstream: name is required');
    }
    this.name = o.name;
    this.policy =
      o.policy !== undefined && o.policy !== null && Object.isFrozen(o.policy)
        ? (o.policy as UpstreamPolicy)
        : parsePolicy(o.policy, o.name);
    const p = this.policy;
    this.random = o.random ?? Math.random;
    const source = endpointSourceOf(o);
    const first = source.current()[0];
    const single = o.endpoints === undefined && source.current().length === 1 && first !== undefined;
    this.pathPrefix = first ? new URL(first.url).pathname.replace(/\/+$/, '') : '';
    const tls = clientTlsOf(
      o,
      source.current().some((e) => e.url.startsWith('https:')),
    );
    if (single) {
      this.pool = createPool(new URL(first.url).origin, p, tls);
      this.lb = undefined;
    } else {
      this.pool = undefined;
      this.lb = new LoadBalancer({ name: o.name, policy: p, source, random: this.random, tls });
    }
    this.budget = new RetryBudget(p.retry.budget);
    this.bulkhead = new Bulkhead(p.bulkhead);
    this.fallback = o.fallback;
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.metrics = new UpstreamMetrics(this.name, this.bulkhead);
    this.#retryViews = new RetryViews(this.name, p.retry);
    this.breaker = p.breaker.enabled
      ? new Breaker(this.name, p.breaker, tryOnce, {
          ignore: notTheUpstreamsFault,
          probe: p.breaker.probe && {
            timeoutMs: p.breaker.probe.timeoutMs,
            run: (signal) => this.#probe(this.pathPrefix + (p.breaker.probe?.path ?? '/'), signal),
          },
        })
      : undefined;
  }

  get state(): BreakerState {
    return this.breaker?.state ?? 'closed';
  }

  /** The breaker's probe: on the single pool, or on one endpoint the balancer picks (no outlier verdict). */
  async #probe(path: string, signal: AbortSignal): Promise<boolean> {
    if (this.pool) return probeAnswers(this.pool, path, signal);
    const ep = this.lb?.choose(undefined);
    if (!ep) return false;
    try {
      return await probeAnswers(ep.pool, path, signal);
    } finally {
      this.lb?.done(ep, 0);
    }
  }

  onStateChange(listener: (state: BreakerState) => void): Disposable {
    return this.breaker?.onStateChange(listener) ?? NO_SUBSCRIPTION;
  }

  stats(): UpstreamStats {
    const b = this.breaker;
    return {
      state: this.state,
      stateSince: b?.since ?? 0,
      openIntervalMs: b?.openIntervalMs ?? 0,
      inFlight: this.bulkhead.inUse,
      queued: this.bulkhead.queued,
      retriesAvailable: this.budget.available(),
      ...(this.lb ? { endpoints: this.lb.snapshot() } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.breaker?.shutdown();
    this.metrics.close();
    await (this.lb ? this.lb.close() : this.pool?.close());
  }

  request(o: CallOptions): Promise<MeshResponse> {
    return this.#call(o, false) as Promise<MeshResponse>;
  }

  stream(o: CallOptions): Promise<MeshStreamResponse> {
    return this.#call(o, true) as Promise<MeshStreamResponse>;
  }

  async #call(o: CallOptions, streaming: boolean): Promise<MeshResponse | MeshStreamResponse> {
    const start = performance.now();
    checkCallOptions(this.name, o);
    const retry = this.#retryViews.of(o.retry);
    const route = o.route ?? 'other';
    const method = (o.method ?? 'GET').toUpperCase();
    const outcomes = this.metrics.outcomes(method, route);
    let span: Span | undefined;
    try {
      this.#refuseEarly(o);
      const call = new Call(this, o, streaming, start, retry);
      span = startCallSpan(this.metrics.tracer, method, route, call.headers);
      this.#listenToCaller(call);
      // bulkhead → (first try inline, then the retry loop) → breaker → try; inline here,
      // not in a helper, because every async frame costs a promise per call (mesh/bench).
      if (!this.bulkhead.tryAcquire()) await waitForSlot(call);
      let res: TryResult;
      try {
        this.budget.recordRequest(start);
        try {
          res = await fireTry(call);
        } catch (e) {
          res = await retryLoop(call, e);
        }
      } finally {
        this.#release(call);
      }
      if (span.isRecording()) span.setAttribute('http.response.status_code', res.status);
      span.end();
      return this.#answer(o, call, res, outcomes);
    } catch (e) {
      return this.#failed(o, streaming, e, span, outcomes, start);
    }
  }

  #refuseEarly(o: CallOptions): void {
    if (this.#closed) {
      throw new MeshError('MESH_ERR_CLOSED', `${this.name}: client closed`, { upstream: this.name });
    }
    if (o.signal?.aborted) {
      throw new MeshError('MESH_ERR_ABORTED', `${this.name}: call aborted by caller`, {
        upstream: this.name,
        cause: o.signal.reason,
      });
    }
  }

  #listenToCaller(call: Call): void {
    if (!call.signal) return;
    call.callerAbortHandler = onCallerAbort.bind(call);
    call.signal.addEventListener('abort', call.callerAbortHandler, { once: true });
  }

  #release(call: Call): void {
    this.bulkhead.release();
    if (call.signal && call.callerAbortHandler) {
      call.signal.removeEventListener('abort', call.callerAbortHandler);
    }
  }

  #answer(o: CallOptions, call: Call, res: TryResult, outcomes: Outcomes): MeshResponse | MeshStreamResponse {
    const seconds = (performance.now() - call.start) / 1000;
    if (res.status >= 500) {
      outcomes.upstream_5xx(seconds);
      if (!call.streaming && o.throwOnStatus !== false) throw statusError(this, res, call.tries);
    } else {
      (res.status >= 400 ? outcomes.upstream_4xx : outcomes.success)(seconds);
    }
    if (call.streaming) return res.stream as StreamingTry;
    return new MeshResponse(res.status, res.headers, res.body as Buffer, call.tries);
  }

  #failed(
    o: CallOptions,
    streaming: boolean,
    e: unknown,
    span: Span | undefined,
    outcomes: Outcomes,
    start: number,
  ): MeshResponse | Promise<MeshResponse> {
    const err = asMeshError(this, e);
    if (span) {
      span.recordException(err);
      if (span.isRecording()) {
        // OpenTelemetry's `error.type` and an ERROR status, so a trace backend shows which
        // failure ended the call (the drill report marks it: "breaker open after 0.2 ms").
        span.setAttribute('error.type', err.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      }
      span.end();
    }
    // An upstream status was counted (as upstream_5xx) before it was thrown.
    if (err.code !== 'MESH_ERR_UPSTREAM_STATUS')
      outcomes[OUTCOME_OF[err.code]]((performance.now() - start) / 1000);
    if (err.code === 'MESH_ERR_DEADLINE') this.metrics.timeoutDeadline.inc();
    const fallback = o.fallback ?? this.fallback;
    if (
      fallback &&
      err.code !== 'MESH_ERR_ABORTED' &&
      err.code !== 'MESH_ERR_INVALID_REQUEST' &&
      !streaming
    ) {
      return fallback(err);
    }
    throw err;
  }
}

/** A call the caller gave up on, or refused as malformed, says nothing about the upstream. */
function notTheUpstreamsFault(err: unknown): boolean {
  return (
    err instanceof MeshError && (err.code === 'MESH_ERR_ABORTED' || err.code === 'MESH_ERR_INVALID_REQUEST')
  );
}

/**
 * mTLS for this upstream: the identity given (or the process's), and the
 * SPIFFE id its servers must present (`serverIdentity`, default the
 * upstream's name as a ServiceAccount). An https:// endpoint without an
 * identity is refused at once: the server would refuse every call.
 */
function clientTlsOf(o: UpstreamOptions, https: boolean): ClientTls | undefined {
  const identity = o.identity === undefined ? processIdentity() : (o.identity ?? undefined);
  if (identity === undefined) {
    if (https && o.endpoints === undefined)
      throw new MeshError(
        'MESH_ERR_IDENTITY',
        `createUpstream(${o.name}): an https:// upstream needs a workload identity (BW_TLS_DIR, or the identity option)`,
      );
    return undefined;
  }
  return { identity, expect: spiffeId(o.serverIdentity ?? o.name) };
}

/** The endpoints of an upstream: a source, or the static `baseUrl` (one URL or a list). */
function endpointSourceOf(o: UpstreamOptions): EndpointSource {
  if (o.endpoints !== undefined) {
    if (o.baseUrl !== undefined) {
      throw new MeshError(
        'MESH_ERR_INVALID_POLICY',
        `createUpstream(${o.name}): give baseUrl or endpoints, not both`,
      );
    }
    return o.endpoints;
  }
  if (o.baseUrl === undefined) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `createUpstream(${o.name}): baseUrl or endpoints is required`,
    );
  }
  return staticEndpoints(o.name, o.baseUrl);
}

/**
 * A client for one upstream. Build it once (module level or at start-up) and
 * share it: its breaker, budget and bulkhead only work if every call uses it.
 * Throws MESH_ERR_INVALID_POLICY at once on a bad policy or base URL.
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  return new UpstreamClient(options);
}
