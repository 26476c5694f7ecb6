/**
 * The mesh client: one per upstream, built once at module level so that its
 * breaker, budget and bulkhead are shared by every call.
 *
 *   bulkhead ─▶ retry loop (budget, backoff, deadline) ─▶ breaker ─▶ one try (timeout)
 *
 * - The bulkhead slot is held for the whole call (all tries and backoffs).
 * - The deadline covers every try and every backoff (as Envoy's route
 *   timeout): a try never runs past it, a backoff that would end after it is
 *   not taken. Each try sends min(per-try timeout, remaining deadline) in
 *   `x-bw-timeout-ms` so the callee stops in time.
 * - The breaker (opossum) sees every try, so a retry storm trips it; opossum's
 *   own timeout and AbortController are off — every try has its own
 *   AbortController (opossum's shared one would abort every call in flight,
 *   its issue #780).
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  boundObserver,
  counter,
  gauge,
  getTracer,
  histogram,
  injectTraceHeaders,
  METRICS,
  onCollect,
  registry,
} from '@breakwater/observability';
import { context as otelContext, type Span, SpanKind, trace } from '@opentelemetry/api';
import CircuitBreaker from 'opossum';
import { type Dispatcher, Pool } from 'undici';
import { backoffDelay, parseRetryAfter } from './backoff.ts';
import { RetryBudget } from './budget.ts';
import { Bulkhead } from './bulkhead.ts';
import { DEADLINE_HEADER, type Deadline } from './deadline.ts';
import { MeshError, type MeshErrorCode } from './errors.ts';
import {
  formatIssues,
  parsePolicy,
  type RetryOverride,
  RetryOverrideSchema,
  type UpstreamPolicy,
  type UpstreamPolicyInput,
} from './policy.ts';

export type BreakerState = 'closed' | 'half-open' | 'open';
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export type HeaderValues = Record<string, string | string[] | undefined>;

/** A buffered response. */
export class MeshResponse {
  readonly status: number;
  readonly headers: HeaderValues;
  readonly body: Buffer;
  /** Tries it took (1 = no retry). */
  readonly tries: number;

  constructor(status: number, headers: HeaderValues, body: Buffer, tries: number) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.tries = tries;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** Parses the body as JSON (throws SyntaxError on a malformed body). */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }
}

/**
 * A streaming response: the body is a Readable the caller must consume or
 * destroy. A body the upstream cuts mid-stream errors and closes without
 * ending; undici gives it a no-op 'error' listener before destroying it, so
 * an unwatched body never crashes the process. A caller that must react (cut
 * its own response) watches 'close' with `readableEnded` still false, or uses
 * `stream.pipeline`. Prefer 'close' to an 'error' listener added after the
 * fact: in the gateway such a late listener made V8 promote about a quarter
 * of every request's objects to the old generation, and scavenges of ~10 ms
 * doubled p99 under the gateway bench's load (measured with --trace-gc-nvp).
 */
export interface MeshStreamResponse {
  readonly status: number;
  readonly headers: HeaderValues;
  readonly body: Readable;
  readonly tries: number;
}

export interface CallOptions {
  /** Default GET. */
  method?: string;
  /** Path (and query) under the upstream's base URL; must start with `/`. */
  path: string;
  /** Route template for metric labels (`/products/:id`); default `other` — never a raw path. */
  route?: string;
  /** Query parameters appended to `path` (undefined values skipped). */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** JSON body (sets content-type). */
  json?: unknown;
  /** Raw body. A Readable is sent once and never retried. */
  body?: string | Buffer | Uint8Array | Readable;
  /** Makes a non-idempotent method retryable; sent as `Idempotency-Key`. */
  idempotencyKey?: string;
  /** The caller's cancellation; ends the call with MESH_ERR_ABORTED. */
  signal?: AbortSignal;
  /** Inherited deadline (e.g. `req.deadline` of the inbound request); the earlier of it and the policy's wins. */
  deadline?: Deadline;
  /** Override the policy's per-try timeout for this call, ms. */
  timeoutMs?: number;
  /** Override the policy's overall deadline for this call, ms. */
  deadlineMs?: number;
  /**
   * Override which failures of this call are retried: `maxRetries`,
   * `statuses` (5xx only), `onConnectError`, `onTimeout`; a field left out is
   * the policy's. Backoff, the retry budget and the breaker stay the
   * upstream's. Validated per call (MESH_ERR_INVALID_REQUEST naming the
   * field) unless frozen: build it once with `parseRetryOverride`.
   */
  retry?: RetryOverride;
  /**
   * When false, an upstream failure status (5xx) left after retries is
   * returned instead of thrown as MESH_ERR_UPSTREAM_STATUS. Default true.
   */
  throwOnStatus?: boolean;
  /** Called instead of throwing when the call fails with a MeshError (not on MESH_ERR_ABORTED). */
  fallback?: Fallback;
  /** Largest buffered response body, bytes; more fails the try with MESH_ERR_RESPONSE_TOO_LARGE. Default: the upstream's. */
  maxResponseBytes?: number;
}

export type Fallback = (err: MeshError) => MeshResponse | Promise<MeshResponse>;

export interface UpstreamOptions {
  /** Upstream name: metric label, breaker name, error field. */
  name: string;
  /** `http://host:port` (a path prefix is kept). */
  baseUrl: string;
  /** Policy (validated, defaults applied, frozen); a parsed policy is used as is. */
  policy?: UpstreamPolicyInput | UpstreamPolicy;
  /** Fallback for every call that has none of its own. */
  fallback?: Fallback;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Default largest buffered response body, bytes (default 16 MiB). */
  maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024; // 16 MiB

export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface UpstreamStats {
  state: BreakerState;
  inFlight: number;
  queued: number;
  retriesAvailable: number;
}

export interface Upstream {
  readonly name: string;
  readonly policy: UpstreamPolicy;
  /** A buffered call: the body is read within the try. */
  request(options: CallOptions): Promise<MeshResponse>;
  /**
   * A streaming call: retries only until response headers arrive (and never
   * with a Readable request body); 5xx responses are returned, not thrown.
   * The deadline keeps running while the body streams.
   */
  stream(options: CallOptions): Promise<MeshStreamResponse>;
  /** The breaker's state now. */
  readonly state: BreakerState;
  /** Calls `listener` on every breaker transition; dispose to stop. */
  onStateChange(listener: (state: BreakerState) => void): Disposable;
  stats(): UpstreamStats;
  /** Closes the connection pool (in-flight calls finish) and stops the breaker. */
  close(): Promise<void>;
}

/** Connection-level headers a caller (e.g. a proxy) must not forward; undici sets its own. */
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const OUTCOME_OF: Partial<Record<MeshErrorCode, string>> = {
  MESH_ERR_TIMEOUT: 'timeout',
  MESH_ERR_DEADLINE: 'deadline',
  MESH_ERR_BREAKER_OPEN: 'breaker_open',
  MESH_ERR_BULKHEAD_FULL: 'bulkhead_full',
  MESH_ERR_BUDGET_EXHAUSTED: 'budget_exhausted',
  MESH_ERR_UPSTREAM_STATUS: 'upstream_5xx',
  MESH_ERR_CONNECT: 'connect_error',
  MESH_ERR_RESPONSE_TOO_LARGE: 'upstream_5xx',
  MESH_ERR_ABORTED: 'aborted',
  MESH_ERR_CLOSED: 'aborted',
};

/** A try that came back with a response the breaker must count as failed (5xx or slow). */
class FailedTry {
  readonly response: TryResult;
  readonly slow: boolean;
  constructor(response: TryResult, slow: boolean) {
    this.response = response;
    this.slow = slow;
  }
}

/**
 * Drops the body of a failed try before the next one. undici's body stream
 * emits an abort error when destroyed; with no listener that error would be
 * unhandled and take the whole process down, so one is attached first.
 */
function discardBody(stream: Readable | undefined): void {
  if (!stream) return;
  stream.on('error', () => {});
  stream.destroy();
}

interface TryResult {
  status: number;
  headers: HeaderValues;
  body: Buffer | undefined;
  stream: Readable | undefined;
}

/**
 * undici dispatch handler for one buffered try. One small object per try, so
 * a late callback from an abandoned try (still queued in the pool, or
 * aborted asynchronously) can never reach the try that replaced it.
 */
class BufferedTry {
  readonly call: Call;
  #resolve: ((r: TryResult) => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;
  controller: Dispatcher.DispatchController | undefined = undefined;
  #status = 0;
  #headers: HeaderValues = {};
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(call: Call, resolve: (r: TryResult) => void, reject: (e: unknown) => void) {
    this.call = call;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (!this.#resolve) {
      controller.abort(this.call.reason ?? new Error('try already settled'));
      return;
    }
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: HeaderValues): void {
    this.#status = status;
    this.#headers = headers;
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#resolve) return;
    const call = this.call;
    this.#bytes += chunk.length;
    if (this.#bytes > call.maxResponseBytes) {
      const err = new MeshError(
        'MESH_ERR_RESPONSE_TOO_LARGE',
        `${call.up.name}: response body over ${call.maxResponseBytes} bytes`,
        { upstream: call.up.name },
      );
      this.#chunks = [];
      this.fail(err);
      c.abort(err);
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    if (!resolve || !reject) return;
    this.#settled();
    const call = this.call;
    const chunks = this.#chunks;
    this.#chunks = [];
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    const result: TryResult = { status: this.#status, headers: this.#headers, body, stream: undefined };
    // A mesh callee answers 504 MESH_ERR_DEADLINE_EXPIRED when the budget this
    // try sent it runs out — the same moment this try's own timer fires. Whichever
    // wins the race, the caller sees the same error.
    if (result.status === 504 && body.includes(CALLEE_DEADLINE)) {
      reject(call.up.tryTimeoutError(call));
      return;
    }
    if (result.status >= 500) {
      reject(new FailedTry(result, false));
      return;
    }
    const slow = call.up.policy.breaker.slowCallMs;
    if (slow > 0 && performance.now() - call.tryStart > slow) {
      reject(new FailedTry(result, true));
      return;
    }
    resolve(result);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (!this.#resolve) return;
    const call = this.call;
    this.fail(call.tryAborted && call.reason ? call.reason : call.up.asMeshError(err));
  }

  /** Settles this try as failed (no-op once settled). */
  fail(err: unknown): void {
    const reject = this.#reject;
    if (!reject) return;
    this.#settled();
    reject(err);
  }

  #settled(): void {
    this.#resolve = undefined;
    this.#reject = undefined;
    const call = this.call;
    if (call.current === this) {
      clearTimeout(call.tryTimer);
      call.tryTimer = undefined;
      call.current = undefined;
    }
  }
}

/** The retry fields a call decides with: the policy's, or a per-call override merged over them. */
interface RetryView {
  readonly maxRetries: number;
  readonly statuses: readonly number[];
  readonly onConnectError: boolean;
  readonly onTimeout: boolean;
}

/** Per-call state, one object per call. */
class Call {
  readonly up: UpstreamClient;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | Uint8Array | Readable | undefined;
  readonly streaming: boolean;
  readonly retryable: boolean;
  readonly retry: RetryView;
  readonly timeoutMs: number;
  readonly deadlineAt: number;
  readonly signal: AbortSignal | undefined;
  readonly maxResponseBytes: number;
  readonly start: number;
  tries = 0;
  tryTimer: NodeJS.Timeout | undefined = undefined;
  tryCutIsDeadline = false;
  tryStart = 0;

  // The try's own abort channel, handed to undici as its `signal`. undici
  // accepts an EventEmitter-shaped signal (`on`/`once`/`removeListener` and a
  // `reason`); one listener slot per call is all a try needs, and it costs a
  // fraction of an AbortController + EventTarget listener per try (measured
  // in mesh/bench). It is never shared between calls (opossum #780).
  #abortListener: (() => void) | undefined = undefined;
  /** Why the current try was aborted (undici rejects with it). */
  reason: MeshError | undefined = undefined;
  tryAborted = false;
  /** Bound once per call, only when the caller passed a signal. */
  callerAbortHandler: (() => void) | undefined = undefined;

  on(_event: 'abort', listener: () => void): this {
    this.#abortListener = listener;
    return this;
  }

  once(event: 'abort', listener: () => void): this {
    return this.on(event, listener);
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.#abortListener === listener) this.#abortListener = undefined;
    return this;
  }

  /** Aborts the try in flight (if any) with `reason`. */
  abortTry(reason: MeshError): void {
    if (this.tryAborted) return;
    this.tryAborted = true;
    this.reason = reason;
    const l = this.#abortListener;
    this.#abortListener = undefined;
    l?.();
    // A buffered try: settle now (even if undici still has it queued), and
    // tell undici to drop it once it has a controller.
    const t = this.current;
    if (t) {
      t.controller?.abort(reason);
      t.fail(reason);
    }
  }

  /** The buffered try in flight, if any. */
  current: BufferedTry | undefined = undefined;

  constructor(up: UpstreamClient, o: CallOptions, streaming: boolean, start: number, retry: RetryView) {
    this.up = up;
    this.retry = retry;
    this.start = start;
    this.maxResponseBytes = o.maxResponseBytes ?? up.maxResponseBytes;
    const method = (o.method ?? 'GET').toUpperCase();
    this.method = method;
    this.streaming = streaming;
    this.signal = o.signal;
    const p = up.policy;
    this.timeoutMs = o.timeoutMs ?? p.timeoutMs;
    let deadlineAt = start + (o.deadlineMs ?? p.deadlineMs);
    if (o.deadline && o.deadline.at < deadlineAt) deadlineAt = o.deadline.at;
    this.deadlineAt = deadlineAt;

    let path = up.pathPrefix + o.path;
    if (o.query) {
      let qs = '';
      for (const k in o.query) {
        const v = o.query[k];
        if (v === undefined) continue;
        qs += `${qs ? '&' : ''}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
      }
      if (qs) path += (path.includes('?') ? '&' : '?') + qs;
    }
    this.path = path;

    const headers: Record<string, string> = {};
    if (o.headers) {
      for (const k in o.headers) {
        const lk = k.toLowerCase();
        if (HOP_BY_HOP.has(lk)) continue;
        const v = o.headers[k];
        if (v !== undefined) headers[lk] = v;
      }
    }
    let body = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
      delete headers['content-length'];
    }
    this.body = body;
    if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
    this.headers = headers;
    const streamBody = body !== undefined && typeof (body as Readable).pipe === 'function';
    this.retryable =
      retry.maxRetries > 0 && !streamBody && (IDEMPOTENT.has(method) || o.idempotencyKey !== undefined);
  }
}

function onTryTimer(call: Call): void {
  call.abortTry(call.up.tryTimeoutError(call));
}

/** The problem code a mesh server answers when an inbound deadline runs out. */
const CALLEE_DEADLINE = Buffer.from('"code":"MESH_ERR_DEADLINE_EXPIRED"');

function onCallerAbort(this: Call): void {
  this.abortTry(
    new MeshError('MESH_ERR_ABORTED', `${this.up.name}: call aborted by caller`, {
      upstream: this.up.name,
      cause: this.signal?.reason,
    }),
  );
}

/** The breaker's action: one try (a plain function, so no closure per call). */
function runTry(call: Call): Promise<TryResult> {
  return call.up.tryOnce(call);
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

type Children = Record<string, (seconds: number) => void>;

class UpstreamClient implements Upstream {
  readonly name: string;
  readonly policy: UpstreamPolicy;
  readonly pathPrefix: string;
  readonly pool: Pool;
  readonly breaker: CircuitBreaker<[Call], TryResult> | undefined;
  readonly budget: RetryBudget;
  readonly bulkhead: Bulkhead;
  readonly fallback: Fallback | undefined;
  readonly random: () => number;
  readonly maxResponseBytes: number;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #listeners = new Set<(s: BreakerState) => void>();
  #closed = false;

  // Pre-bound metric children: no label hashing on the hot path beyond prom-client's own.
  /** Tries so far, flushed into bw_upstream_tries_total at scrape time (no prom-client work per call). */
  firstTries = 0;
  retryTries = 0;
  #flushedFirst = 0;
  #flushedRetry = 0;
  readonly #unhook: Array<() => void> = [];
  readonly timeoutTry;
  readonly timeoutDeadline;
  readonly budgetExhausted;
  readonly bulkheadRejected;
  readonly #durations = new Map<string, Children>();
  /** Merged retry views per frozen override object (a gateway route passes the same one every call). */
  readonly #retryViews = new WeakMap<RetryOverride, RetryView>();
  readonly #tracer = getTracer('@breakwater/mesh');

  constructor(o: UpstreamOptions) {
    if (!o.name || typeof o.name !== 'string') {
      throw new MeshError('MESH_ERR_INVALID_POLICY', 'createUpstream: name is required');
    }
    this.name = o.name;
    this.policy =
      o.policy !== undefined && o.policy !== null && Object.isFrozen(o.policy)
        ? (o.policy as UpstreamPolicy)
        : parsePolicy(o.policy, o.name);
    let url: URL;
    try {
      url = new URL(o.baseUrl);
    } catch {
      throw new MeshError(
        'MESH_ERR_INVALID_POLICY',
        `createUpstream(${o.name}): baseUrl is not a URL: ${o.baseUrl}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new MeshError(
        'MESH_ERR_INVALID_POLICY',
        `createUpstream(${o.name}): baseUrl must be http(s): ${o.baseUrl}`,
      );
    }
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    const p = this.policy;
    this.pool = new Pool(url.origin, {
      connections: p.pool.connections,
      keepAliveTimeout: p.pool.keepAliveTimeoutMs,
      connect: { timeout: p.pool.connectTimeoutMs },
    });
    this.budget = new RetryBudget(p.retry.budget);
    this.bulkhead = new Bulkhead(p.bulkhead);
    this.fallback = o.fallback;
    this.random = o.random ?? Math.random;
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

    const n = this.name;
    const triesFirst = counter('upstreamTries').labels(n, 'first');
    const triesRetry = counter('upstreamTries').labels(n, 'retry');
    this.#unhook.push(
      onCollect('upstreamTries', () => {
        triesFirst.inc(this.firstTries - this.#flushedFirst);
        triesRetry.inc(this.retryTries - this.#flushedRetry);
        this.#flushedFirst = this.firstTries;
        this.#flushedRetry = this.retryTries;
      }),
    );
    this.timeoutTry = counter('upstreamTimeouts').labels(n, 'try');
    this.timeoutDeadline = counter('upstreamTimeouts').labels(n, 'deadline');
    this.budgetExhausted = counter('upstreamBudgetExhausted').labels(n);
    this.bulkheadRejected = counter('upstreamBulkheadRejected').labels(n);
    const inUse = gauge('upstreamBulkheadInUse').labels(n);
    inUse.set(0);
    this.#unhook.push(onCollect('upstreamBulkheadInUse', () => inUse.set(this.bulkhead.inUse)));
    gauge('breakerState').labels(n).set(0);

    if (p.breaker.enabled) {
      const b = p.breaker;
      const breaker = new CircuitBreaker<[Call], TryResult>(runTry, {
        name: n,
        timeout: false, // the mesh times every try itself, with its own AbortController
        resetTimeout: b.resetTimeoutMs,
        errorThresholdPercentage: b.errorThresholdPct,
        volumeThreshold: b.volumeThreshold,
        rollingCountTimeout: b.rollingWindowMs,
        rollingCountBuckets: b.rollingBuckets,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        // A call the caller gave up on, or refused as malformed, says nothing about the upstream.
        errorFilter: (err: unknown) =>
          err instanceof MeshError &&
          (err.code === 'MESH_ERR_ABORTED' || err.code === 'MESH_ERR_INVALID_REQUEST'),
      });
      breaker.on('open', () => this.#transition('open'));
      breaker.on('halfOpen', () => this.#transition('half-open'));
      breaker.on('close', () => this.#transition('closed'));
      this.breaker = breaker;
    } else {
      this.breaker = undefined;
    }
  }

  get state(): BreakerState {
    return this.#state;
  }

  #transition(s: BreakerState): void {
    if (s === this.#state) return;
    this.#state = s;
    if (s === 'open') this.#openedAt = Date.now();
    gauge('breakerState').labels(this.name).set(STATE_VALUE[s]);
    counter('breakerTransitions').labels(this.name, s).inc();
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch {
        // A listener's failure must not break the breaker.
      }
    }
  }

  onStateChange(listener: (state: BreakerState) => void): Disposable {
    this.#listeners.add(listener);
    const dispose = () => {
      this.#listeners.delete(listener);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  stats(): UpstreamStats {
    return {
      state: this.#state,
      inFlight: this.bulkhead.inUse,
      queued: this.bulkhead.queued,
      retriesAvailable: this.budget.available(),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.breaker?.shutdown();
    // Leave the final counts in the registry, then stop collecting.
    for (const m of ['upstreamTries', 'upstreamBulkheadInUse'] as const) {
      (registry.getSingleMetric(METRICS[m].name) as unknown as { collect?: () => void })?.collect?.();
    }
    for (const u of this.#unhook.splice(0)) u();
    await this.pool.close();
  }

  #children(method: string, route: string): Children {
    const key = `${method} ${route}`;
    let c = this.#durations.get(key);
    if (!c) {
      const h = histogram('upstreamDuration');
      c = {};
      for (const outcome of [
        'success',
        'upstream_4xx',
        'upstream_5xx',
        'timeout',
        'deadline',
        'breaker_open',
        'bulkhead_full',
        'budget_exhausted',
        'connect_error',
        'aborted',
      ]) {
        c[outcome] = boundObserver(h, { upstream: this.name, method, route, outcome });
      }
      this.#durations.set(key, c);
    }
    return c;
  }

  request(o: CallOptions): Promise<MeshResponse> {
    return this.#call(o, false) as Promise<MeshResponse>;
  }

  stream(o: CallOptions): Promise<MeshStreamResponse> {
    return this.#call(o, true) as Promise<MeshStreamResponse>;
  }

  async #call(o: CallOptions, streaming: boolean): Promise<MeshResponse | MeshStreamResponse> {
    const start = performance.now();
    if (o === null || typeof o !== 'object' || typeof o.path !== 'string' || o.path[0] !== '/') {
      throw new MeshError('MESH_ERR_INVALID_REQUEST', `${this.name}: request path must start with "/"`, {
        upstream: this.name,
      });
    }
    if (o.json !== undefined && o.body !== undefined) {
      throw new MeshError('MESH_ERR_INVALID_REQUEST', `${this.name}: give json or body, not both`, {
        upstream: this.name,
      });
    }
    const retry = o.retry === undefined ? this.policy.retry : this.#retryView(o.retry);
    const route = o.route ?? 'other';
    const method = (o.method ?? 'GET').toUpperCase();
    const children = this.#children(method, route);
    let span: Span | undefined;
    try {
      if (this.#closed)
        throw new MeshError('MESH_ERR_CLOSED', `${this.name}: client closed`, { upstream: this.name });
      if (o.signal?.aborted) {
        throw new MeshError('MESH_ERR_ABORTED', `${this.name}: call aborted by caller`, {
          upstream: this.name,
          cause: o.signal.reason,
        });
      }
      const call = new Call(this, o, streaming, start, retry);
      const parent = otelContext.active();
      span = this.#tracer.startSpan(`${method} ${route}`, { kind: SpanKind.CLIENT }, parent);
      // A non-recording span carries its parent's context: inject that without copying contexts.
      injectTraceHeaders(call.headers, span.isRecording() ? trace.setSpan(parent, span) : parent);
      const signal = o.signal;
      if (signal) {
        call.callerAbortHandler = onCallerAbort.bind(call);
        signal.addEventListener('abort', call.callerAbortHandler, { once: true });
      }

      if (!this.bulkhead.tryAcquire()) await this.#queue(call);
      let res: TryResult;
      try {
        // First try inline (the common case); the retry loop only runs after a failure.
        this.budget.recordRequest(start);
        try {
          res = await (this.breaker ? this.breaker.fire(call) : this.tryOnce(call));
        } catch (e) {
          res = await this.#retryLoop(call, e);
        }
      } finally {
        this.bulkhead.release();
        if (signal && call.callerAbortHandler) signal.removeEventListener('abort', call.callerAbortHandler);
      }
      if (span.isRecording()) span.setAttribute('http.response.status_code', res.status);
      span.end();
      const seconds = (performance.now() - start) / 1000;
      if (res.status >= 500) {
        children.upstream_5xx?.(seconds);
        if (!streaming && o.throwOnStatus !== false) {
          throw this.#statusError(res, call.tries);
        }
      } else {
        (res.status >= 400 ? children.upstream_4xx : children.success)?.(seconds);
      }
      if (streaming) {
        return { status: res.status, headers: res.headers, body: res.stream as Readable, tries: call.tries };
      }
      return new MeshResponse(res.status, res.headers, res.body as Buffer, call.tries);
    } catch (e) {
      const err = this.asMeshError(e);
      if (span) {
        span.recordException(err);
        span.end();
      }
      if (err.code !== 'MESH_ERR_UPSTREAM_STATUS') {
        children[OUTCOME_OF[err.code] ?? 'connect_error']?.((performance.now() - start) / 1000);
      }
      if (err.code === 'MESH_ERR_DEADLINE') this.timeoutDeadline.inc();
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

  /** The policy's retry fields with `override` on top; an unfrozen override is validated first. */
  #retryView(override: RetryOverride): RetryView {
    const cached = this.#retryViews.get(override);
    if (cached) return cached;
    let ov = override;
    if (!Object.isFrozen(override)) {
      const r = RetryOverrideSchema.safeParse(override);
      if (!r.success) {
        throw new MeshError(
          'MESH_ERR_INVALID_REQUEST',
          `${this.name}: invalid retry override: ${formatIssues('retry', r.error)}`,
          { upstream: this.name },
        );
      }
      ov = r.data;
    }
    const p = this.policy.retry;
    const view: RetryView = Object.freeze({
      maxRetries: ov.maxRetries ?? p.maxRetries,
      statuses: ov.statuses ?? p.statuses,
      onConnectError: ov.onConnectError ?? p.onConnectError,
      onTimeout: ov.onTimeout ?? p.onTimeout,
    });
    if (Object.isFrozen(override)) this.#retryViews.set(override, view);
    return view;
  }

  #statusError(res: TryResult, tries: number): MeshError {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return new MeshError(
      'MESH_ERR_UPSTREAM_STATUS',
      `${this.name}: upstream answered ${res.status} after ${tries} ${tries === 1 ? 'try' : 'tries'}`,
      {
        upstream: this.name,
        upstreamStatus: res.status,
        retryAfterSec: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
        extensions: { upstreamBody: res.body?.subarray(0, 2048).toString('utf8') },
      },
    );
  }

  async #queue(call: Call): Promise<void> {
    if (!this.bulkhead.canQueue()) {
      this.bulkheadRejected.inc();
      throw new MeshError(
        'MESH_ERR_BULKHEAD_FULL',
        `${this.name}: ${this.bulkhead.maxConcurrent} calls in flight and ${this.bulkhead.maxQueue} waiting`,
        { upstream: this.name, retryAfterSec: 1 },
      );
    }
    const remaining = call.deadlineAt - performance.now();
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(remaining)));
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    try {
      await this.bulkhead.wait(signal);
    } catch {
      if (call.signal?.aborted) {
        throw new MeshError('MESH_ERR_ABORTED', `${this.name}: call aborted by caller while queued`, {
          upstream: this.name,
        });
      }
      throw new MeshError(
        'MESH_ERR_DEADLINE',
        `${this.name}: deadline passed while waiting for a bulkhead slot`,
        {
          upstream: this.name,
        },
      );
    }
  }

  /** After a failed try: decide, spend budget, back off and try again, until success or a final failure. */
  async #retryLoop(call: Call, firstError: unknown): Promise<TryResult> {
    const p = this.policy.retry;
    let prevDelay = 0;
    let pending: unknown = firstError;
    for (;;) {
      let failure: MeshError | FailedTry;
      try {
        if (pending === undefined) {
          return await (this.breaker ? this.breaker.fire(call) : this.tryOnce(call));
        }
        throw pending;
      } catch (e) {
        pending = undefined;
        if (e instanceof FailedTry) {
          // Slow but successful tries are failures for the breaker only.
          if (e.slow) return e.response;
          failure = e;
        } else {
          failure = this.asMeshError(e);
        }
      }
      const retryNo = call.tries - 1; // 0 for the first retry
      if (!this.#shouldRetry(call, failure, retryNo)) return this.#finalFailure(failure);
      if (!this.budget.tryWithdraw()) {
        this.budgetExhausted.inc();
        // A streaming call hands its 5xx back as is (streams never throw on status).
        if (failure instanceof FailedTry && call.streaming) return failure.response;
        const original =
          failure instanceof FailedTry ? this.#statusError(failure.response, call.tries) : failure;
        throw new MeshError(
          'MESH_ERR_BUDGET_EXHAUSTED',
          `${this.name}: retry budget spent; ${original.message}`,
          {
            upstream: this.name,
            cause: original,
            retryAfterSec: 1,
          },
        );
      }
      let delay = backoffDelay(p.backoff, retryNo, prevDelay, this.random);
      if (failure instanceof FailedTry && p.honorRetryAfter) {
        const ra = parseRetryAfter(failure.response.headers['retry-after']);
        if (ra !== undefined) delay = ra;
      }
      prevDelay = delay;
      // A backoff that would end at or after the deadline cannot lead to a useful try.
      if (performance.now() + delay >= call.deadlineAt - 1) return this.#finalFailure(failure);
      if (failure instanceof FailedTry) discardBody(failure.response.stream);
      await this.#sleep(delay, call);
    }
  }

  #finalFailure(failure: MeshError | FailedTry): TryResult {
    if (failure instanceof FailedTry) return failure.response;
    throw failure;
  }

  #shouldRetry(call: Call, f: MeshError | FailedTry, retryNo: number): boolean {
    const r = call.retry;
    if (!call.retryable || retryNo >= r.maxRetries) return false;
    if (f instanceof FailedTry) return r.statuses.includes(f.response.status);
    switch (f.code) {
      case 'MESH_ERR_CONNECT':
        return r.onConnectError;
      case 'MESH_ERR_TIMEOUT':
        return r.onTimeout;
      default:
        return false;
    }
  }

  #sleep(ms: number, call: Call): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = call.signal;
      const onAbort = () => {
        clearTimeout(t);
        reject(
          new MeshError('MESH_ERR_ABORTED', `${this.name}: call aborted by caller during backoff`, {
            upstream: this.name,
          }),
        );
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * One try, with its own abort channel and one timer at min(per-try
   * timeout, remaining deadline). Buffered calls use undici's `dispatch` with
   * the Call as the handler (no Readable, no per-try closures beyond the
   * promise); streaming calls use `request`. Resolves with the response, or
   * rejects with a MeshError, or with a FailedTry (5xx or slow) that the
   * breaker counts as a failure.
   */
  tryOnce(call: Call): Promise<TryResult> {
    const now = call.tries === 0 ? call.start : performance.now();
    const remaining = call.deadlineAt - now;
    call.tries++;
    if (call.tries === 1) this.firstTries++;
    else this.retryTries++;
    if (remaining < 1) {
      return Promise.reject(
        new MeshError('MESH_ERR_DEADLINE', `${this.name}: deadline exceeded before try ${call.tries}`, {
          upstream: this.name,
        }),
      );
    }
    if (call.signal?.aborted) {
      return Promise.reject(
        new MeshError('MESH_ERR_ABORTED', `${this.name}: call aborted by caller`, { upstream: this.name }),
      );
    }
    const tryMs = remaining < call.timeoutMs ? remaining : call.timeoutMs;
    call.tryCutIsDeadline = remaining <= call.timeoutMs;
    call.headers[DEADLINE_HEADER] = String(Math.floor(tryMs));
    call.tryAborted = false;
    call.reason = undefined;
    call.tryStart = now;
    call.tryTimer = setTimeout(onTryTimer, tryMs, call);
    if (call.streaming) return this.#tryStreaming(call);
    return new Promise<TryResult>((resolve, reject) => {
      const handler = new BufferedTry(call, resolve, reject);
      call.current = handler;
      try {
        this.pool.dispatch(
          {
            method: call.method as 'GET',
            path: call.path,
            headers: call.headers,
            body: call.body as string | Buffer | Uint8Array | Readable | undefined,
          },
          handler,
        );
      } catch (err) {
        // undici refuses bad options synchronously (e.g. a header with a newline).
        handler.fail(this.asMeshError(err));
      }
    });
  }

  async #tryStreaming(call: Call): Promise<TryResult> {
    let keepTimer = false;
    try {
      const res = await this.pool.request({
        method: call.method as 'GET',
        path: call.path,
        headers: call.headers,
        body: call.body as string | Buffer | Uint8Array | Readable | undefined,
        signal: call as unknown as EventEmitter,
      });
      const result: TryResult = {
        status: res.statusCode,
        headers: res.headers,
        body: undefined,
        stream: res.body,
      };
      // The deadline keeps running while the body streams; the per-try timeout stops at headers.
      clearTimeout(call.tryTimer);
      const left = call.deadlineAt - performance.now();
      const body = res.body;
      const t = setTimeout(
        () => {
          body.destroy(
            new MeshError('MESH_ERR_DEADLINE', `${this.name}: deadline exceeded while streaming`, {
              upstream: this.name,
            }),
          );
        },
        Math.max(1, left),
      );
      body.once('close', () => clearTimeout(t));
      keepTimer = true;
      if (res.statusCode >= 500) throw new FailedTry(result, false);
      return result;
    } catch (e) {
      if (e instanceof FailedTry) throw e;
      if (call.tryAborted && call.reason) throw call.reason;
      throw this.asMeshError(e);
    } finally {
      if (!keepTimer) clearTimeout(call.tryTimer);
      call.tryTimer = undefined;
    }
  }

  /** The error for a try whose time ran out (its own timeout, or the call's deadline). */
  tryTimeoutError(call: Call): MeshError {
    if (call.tryCutIsDeadline) {
      return new MeshError('MESH_ERR_DEADLINE', `${this.name}: deadline exceeded during try ${call.tries}`, {
        upstream: this.name,
      });
    }
    this.timeoutTry.inc();
    return new MeshError(
      'MESH_ERR_TIMEOUT',
      `${this.name}: try ${call.tries} timed out after ${call.timeoutMs} ms`,
      {
        upstream: this.name,
      },
    );
  }

  asMeshError(e: unknown): MeshError {
    if (e instanceof MeshError) return e;
    if (e instanceof FailedTry) return this.#statusError(e.response, 0);
    const code = (e as { code?: string } | null)?.code;
    if (code === 'EOPENBREAKER') {
      const left = this.#openedAt + this.policy.breaker.resetTimeoutMs - Date.now();
      return new MeshError('MESH_ERR_BREAKER_OPEN', `${this.name}: circuit breaker is ${this.#state}`, {
        upstream: this.name,
        retryAfterSec: Math.max(1, Math.ceil(left / 1000)),
      });
    }
    if (code === 'ESHUTDOWN') {
      return new MeshError('MESH_ERR_CLOSED', `${this.name}: client closed`, {
        upstream: this.name,
        cause: e,
      });
    }
    if (code === 'UND_ERR_INVALID_ARG') {
      return new MeshError('MESH_ERR_INVALID_REQUEST', `${this.name}: ${(e as Error).message}`, {
        upstream: this.name,
        cause: e,
      });
    }
    const causeCode = (e as { cause?: { code?: string } } | null)?.cause?.code;
    const msg = (e as Error)?.message ?? String(e);
    return new MeshError('MESH_ERR_CONNECT', `${this.name}: ${code ?? causeCode ?? 'error'}: ${msg}`, {
      upstream: this.name,
      cause: e,
      extensions:
        code || causeCode
          ? { errno: code && !CONNECT_CODES.has(code) ? code : (code ?? causeCode) }
          : undefined,
    });
  }
}

/**
 * A client for one upstream. Build it once (module level or at start-up) and
 * share it: its breaker, budget and bulkhead only work if every call uses it.
 * Throws MESH_ERR_INVALID_POLICY at once on a bad policy or base URL.
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  return new UpstreamClient(options);
}

/** A response a fallback can return (`staticResponse(200, { items: [] })`). */
export function staticResponse(status: number, body: unknown = '', headers: HeaderValues = {}): MeshResponse {
  const buf = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const h = { ...headers };
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) h['content-type'] ??= 'application/json';
  return new MeshResponse(status, h, buf, 0);
}
