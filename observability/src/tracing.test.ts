import { context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTraceIds, extractTraceContext, getTracer, injectTraceHeaders, withSpan } from './tracing.ts';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => propagation.disable());

describe('tracing facade', () => {
  it('round-trips W3C traceparent through plain header objects', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    });
    const headers = injectTraceHeaders({} as Record<string, string>, ctx);
    expect(headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const back = extractTraceContext({ traceparent: headers.traceparent });
    expect(activeTraceIds(back)).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
    expect(activeTraceIds(extractTraceContext({ traceparent: 'garbage' }))).toBeUndefined();
  });

  it('is safe without an SDK: spans are non-recording and errors still propagate', async () => {
    expect(getTracer().startSpan('x').isRecording()).toBe(false);
    await expect(
      withSpan('fails', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await withSpan('ok', () => 42)).toBe(42);
    expect(activeTraceIds(context.active())).toBeUndefined();
  });
});
