/**
 * Telemetry middleware: W3C trace context extracted, a SERVER span, the
 * in-flight gauge, the duration histogram by route template (with a trace_id
 * exemplar), and one JSON access-log line per request. It also reads the
 * inbound deadline, so `req.bw` is complete from here on.
 */
import {
  extractTraceContext,
  gauge,
  getTracer,
  histogram,
  type Logger,
  statusClass,
} from '@breakwater/observability';
import {
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Deadline, remainingFromHeaders } from '../deadline.ts';
import { RequestContext } from './request-context.ts';

/** Route label for a request: the matched template, `unmatched` otherwise. */
export function routeOf(req: Request): string {
  const r = (req as Request & { route?: { path?: unknown } }).route;
  if (!r || r.path === undefined) return 'unmatched';
  const p = typeof r.path === 'string' ? r.path : String(r.path);
  return (req.baseUrl || '') + p;
}

export interface TelemetryOptions {
  logger: Logger;
  accessLog: boolean;
  /** Told when a request starts (+1) and ends (−1): the lifecycle waits for in-flight requests. */
  onInFlight: (delta: 1 | -1) => void;
}

export function telemetry(o: TelemetryOptions): RequestHandler {
  const tracer = getTracer('@breakwater/mesh');
  const duration = histogram('httpServerDuration', { exemplars: true });
  const inFlightGauge = gauge('httpServerInFlight');
  type Labels = { method: string; route: string; status_class: string };

  function observe(labels: Labels, seconds: number, traceId: string | undefined): void {
    if (traceId) {
      // Exemplar labels are free-form in OpenMetrics; prom-client types them as the metric's labels.
      const exemplarLabels = { trace_id: traceId } as unknown as Labels;
      duration.observe({ labels, value: seconds, exemplarLabels });
    } else duration.labels(labels).observe(seconds);
  }

  function endSpan(span: Span, method: string, route: string, status: number): void {
    span.updateName(`${method} ${route}`);
    if (span.isRecording()) {
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    o.onInFlight(1);
    inFlightGauge.inc();
    const parent = extractTraceContext(req.headers);
    const span = tracer.startSpan(`${req.method}`, { kind: SpanKind.SERVER }, parent);
    const sc = span.spanContext();
    const traceId = trace.isSpanContextValid(sc) ? sc.traceId : undefined;
    const remaining = remainingFromHeaders(req.headers);
    const deadline = remaining === undefined ? undefined : new Deadline(start + remaining);
    // No trace-id child bindings: the logger's mixin stamps trace_id/span_id
    // from the active context, which is this span for the whole request.
    const spanContext = trace.setSpan(parent, span);
    const ctx = new RequestContext(req.bw.requestId, deadline, o.logger, traceId);
    ctx.bind(res);
    req.bw = ctx;
    let done = false;
    const onDone = () => {
      if (done) return;
      done = true;
      inFlightGauge.dec();
      const route = routeOf(req);
      const status = res.headersSent ? res.statusCode : 499;
      const seconds = (performance.now() - start) / 1000;
      // An exemplar links a latency to its trace in Zipkin: only a sampled one is there.
      const exemplar = sc.traceFlags & TraceFlags.SAMPLED ? traceId : undefined;
      observe({ method: req.method, route, status_class: statusClass(status) }, seconds, exemplar);
      endSpan(span, req.method, route, status);
      if (o.accessLog) {
        const line = {
          request_id: ctx.requestId,
          method: req.method,
          route,
          status,
          duration_ms: Math.round(seconds * 1e4) / 10,
          ...(res.writableFinished ? {} : { aborted: true }),
        };
        // 'finish'/'close' fire outside the request's context: log inside it.
        otelContext.with(spanContext, () => o.logger.info(line, 'request'));
      }
      o.onInFlight(-1);
    };
    res.once('finish', onDone);
    res.once('close', onDone);
    otelContext.with(spanContext, next);
  };
}
