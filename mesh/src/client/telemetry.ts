/**
 * Metrics and spans of the client. Per call: one pre-bound histogram update
 * (`boundObserver`, no label hashing) and one CLIENT span (non-recording
 * without the SDK; contexts are only copied when it records). Try counts and
 * the bulkhead gauge are plain numbers flushed into prom-client at scrape
 * time (`onCollect`). Outcomes come from the metric catalogue
 * (CALL_OUTCOMES): every outcome has a series, and an error code must name
 * one to compile.
 */
import {
  boundObserver,
  CALL_OUTCOMES,
  type CallOutcome,
  counter,
  gauge,
  getTracer,
  histogram,
  injectTraceHeaders,
  METRICS,
  onCollect,
  registry,
} from '@breakwater/observability';
import { context as otelContext, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { Bulkhead } from '../bulkhead.ts';
import type { MeshErrorCode } from '../errors.ts';

/** The outcome label of a call that failed with each code (server-side codes never come out of a call). */
export const OUTCOME_OF: Readonly<Record<MeshErrorCode, CallOutcome>> = {
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
  MESH_ERR_INVALID_POLICY: 'connect_error',
  MESH_ERR_INVALID_REQUEST: 'connect_error',
  MESH_ERR_DEADLINE_EXPIRED: 'connect_error',
  MESH_ERR_BAD_JSON: 'connect_error',
  MESH_ERR_BODY_TOO_LARGE: 'connect_error',
  MESH_ERR_NOT_FOUND: 'connect_error',
  MESH_ERR_METHOD_NOT_ALLOWED: 'connect_error',
  MESH_ERR_VALIDATION: 'connect_error',
  MESH_ERR_UNAUTHORIZED: 'connect_error',
  MESH_ERR_FORBIDDEN: 'connect_error',
  MESH_ERR_IDENTITY: 'connect_error',
  MESH_ERR_FAULT_INJECTED: 'connect_error',
  MESH_ERR_INTERNAL: 'connect_error',
};

/** Duration observers of one method and route, one per outcome. */
export type Outcomes = Record<CallOutcome, (seconds: number) => void>;

export class UpstreamMetrics {
  readonly #name: string;
  /** Tries so far, flushed into bw_upstream_tries_total at scrape time. */
  #firstTries = 0;
  #retryTries = 0;
  #flushedFirst = 0;
  #flushedRetry = 0;
  readonly #unhook: Array<() => void> = [];
  readonly #durations = new Map<string, Outcomes>();
  readonly timeoutTry;
  readonly timeoutDeadline;
  readonly budgetExhausted;
  readonly bulkheadRejected;
  readonly tracer = getTracer('@breakwater/mesh');

  constructor(name: string, bulkhead: Bulkhead) {
    this.#name = name;
    const triesFirst = counter('upstreamTries').labels(name, 'first');
    const triesRetry = counter('upstreamTries').labels(name, 'retry');
    this.#unhook.push(
      onCollect('upstreamTries', () => {
        triesFirst.inc(this.#firstTries - this.#flushedFirst);
        triesRetry.inc(this.#retryTries - this.#flushedRetry);
        this.#flushedFirst = this.#firstTries;
        this.#flushedRetry = this.#retryTries;
      }),
    );
    this.timeoutTry = counter('upstreamTimeouts').labels(name, 'try');
    this.timeoutDeadline = counter('upstreamTimeouts').labels(name, 'deadline');
    this.budgetExhausted = counter('upstreamBudgetExhausted').labels(name);
    this.bulkheadRejected = counter('upstreamBulkheadRejected').labels(name);
    const inUse = gauge('upstreamBulkheadInUse').labels(name);
    inUse.set(0);
    this.#unhook.push(onCollect('upstreamBulkheadInUse', () => inUse.set(bulkhead.inUse)));
    gauge('breakerState').labels(name).set(0);
  }

  /** Counts a retry by what the try before failed with (error-mapping's retryCause). */
  countRetry(cause: string): void {
    counter('upstreamRetries').labels(this.#name, cause).inc();
  }

  /** Counts try number `n` of a call (1 = first). */
  countTry(n: number): void {
    if (n === 1) this.#firstTries++;
    else this.#retryTries++;
  }

  outcomes(method: string, route: string): Outcomes {
    const key = `${method} ${route}`;
    let c = this.#durations.get(key);
    if (!c) {
      const h = histogram('upstreamDuration');
      const upstream = this.#name;
      c = {} as Outcomes;
      for (const outcome of CALL_OUTCOMES)
        c[outcome] = boundObserver(h, { upstream, method, route, outcome });
      this.#durations.set(key, c);
    }
    return c;
  }

  /** Leaves the final counts in the registry, then stops collecting. */
  close(): void {
    for (const m of ['upstreamTries', 'upstreamBulkheadInUse'] as const) {
      (registry.getSingleMetric(METRICS[m].name) as unknown as { collect?: () => void })?.collect?.();
    }
    for (const u of this.#unhook.splice(0)) u();
  }
}

/** Starts the call's CLIENT span and puts its trace context into `headers`. */
export function startCallSpan(
  tracer: Tracer,
  method: string,
  route: string,
  headers: Record<string, string>,
): Span {
  const parent = otelContext.active();
  const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.CLIENT }, parent);
  // A non-recording span carries its parent's context: inject that without copying contexts.
  injectTraceHeaders(headers, span.isRecording() ? trace.setSpan(parent, span) : parent);
  return span;
}
