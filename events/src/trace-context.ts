/**
 * W3C trace context in events: the producer stores the active span's
 * `traceparent` in the envelope (CloudEvents Distributed Tracing extension);
 * the consumer runs its handler inside a span whose parent is that context,
 * so logs and spans of the consumer's work carry the producer's trace id.
 * Works with the bare @opentelemetry/api (no SDK): the remote span context
 * is still propagated through a non-recording span.
 */
import { type Context, context, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The `traceparent` of the active span, if there is a valid one. */
export function activeTraceparent(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A context whose remote parent is `traceparent`; the root context when absent or malformed. */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2] ?? '') || /^0+$/.test(m[3] ?? '')) return ROOT_CONTEXT;
  void tracestate; // kept in the envelope; the API needs a TraceState implementation to carry it.
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[2] as string,
    spanId: m[3] as string,
    traceFlags: Number.parseInt(m[4] as string, 16),
    isRemote: true,
  });
}

const tracer = () => trace.getTracer('@breakwater/events');

/** Runs `fn` in a consumer span whose parent is the event's trace context. */
export function withEventSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextFromTraceparent(traceparent);
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
