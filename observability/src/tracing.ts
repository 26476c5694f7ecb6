/**
 * The light tracing facade over @opentelemetry/api. It does nothing until the
 * SDK is registered (`telemetry.ts`, imported first by `main.ts`); until then
 * spans are non-recording and propagation is a no-op, so it is always safe
 * to call.
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';

export type { Context, Span, Tracer } from '@opentelemetry/api';
export { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** A plain header object, as node:http and undici use. */
export type HeaderBag = Record<string, string | string[] | undefined>;

const TRACER_NAME = '@breakwater/observability';

/** The tracer for `name` (default Breakwater's), from the global provider. */
export function getTracer(name: string = TRACER_NAME, version?: string): Tracer {
  return trace.getTracer(name, version);
}

const setter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<HeaderBag> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const v = carrier[key] ?? carrier[key.toLowerCase()];
    return v;
  },
};

/**
 * Writes W3C trace context (`traceparent`, `tracestate`, baggage — whatever
 * the registered propagator writes) from `ctx` (default: the active context)
 * into `headers`, and returns `headers`.
 */
export function injectTraceHeaders<T extends Record<string, string>>(
  headers: T,
  ctx: Context = context.active(),
): T {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** The context carried by inbound `headers` (lower-case keys), on top of `base`. */
export function extractTraceContext(headers: HeaderBag, base: Context = ROOT_CONTEXT): Context {
  return propagation.extract(base, headers, getter);
}

/** Trace and span ids of the active span, or undefined when no valid span is active. */
export function activeTraceIds(
  ctx: Context = context.active(),
): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(ctx);
  if (!span) return undefined;
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * Runs `fn` inside a new active span; records an exception and an error
 * status when `fn` throws or rejects; always ends the span.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
  tracer: Tracer = getTracer(),
): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}
