import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otlpTracesEndpoint, type StopTelemetry, startTelemetry } from '../src/telemetry.ts';

// A real OTLP/HTTP receiver on 127.0.0.1: it keeps every export request it
// gets, decoded from OTLP/JSON (what @opentelemetry/exporter-trace-otlp-http sends).
interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}
interface Received {
  path: string;
  contentType: string | undefined;
  body: OtlpExport;
}

async function startReceiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, received };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

function serviceName(exp: OtlpExport): string[] {
  return exp.resourceSpans.map(
    (rs) => rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '',
  );
}
const spansOf = (received: Received[]) =>
  received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));

let stop: StopTelemetry | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('otlpTracesEndpoint', () => {
  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual({
      url: 'http://127.0.0.1:4318/v1/traces',
    });
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' })).toEqual({
      url: 'http://collector:4318/otlp/v1/traces',
    });
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, before the general one', () => {
    expect(
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      }),
    ).toEqual({ url: 'http://b:4318/custom' });
  });

  it('means "do not export" when unset or blank, and warns on a value that is not an http URL', () => {
    expect(otlpTracesEndpoint({})).toEqual({ none: true });
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual({ none: true });
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toMatchObject({
      variable: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    });
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toMatchObject({
      warning: expect.stringContaining('not a URL'),
    });
  });
});

describe('startTelemetry', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    return () => close(receiver.server);
  });

  it('exports spans with the service name to the OTLP/HTTP endpoint when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    receiver.received.length = 0;
    stop = startTelemetry({
      service: 'catalog-under-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.base },
      warn: (m) => expect.fail(`unexpected warning: ${m}`),
    });
    const tracer = trace.getTracer('telemetry-test');
    const parent = tracer.startSpan('GET /products');
    const child = tracer.startSpan('db query', {}, trace.setSpan(context.active(), parent));
    child.end();
    parent.end();
    await stop(); // flushes the batch before resolving

    expect(receiver.received.length).toBeGreaterThan(0);
    expect(receiver.received[0]?.path).toBe('/v1/traces');
    expect(receiver.received[0]?.contentType).toMatch(/application\/json/);
    expect(receiver.received.flatMap((r) => serviceName(r.body))).toContain('catalog-under-test');
    const spans = spansOf(receiver.received);
    const exportedParent = spans.find((s) => s.name === 'GET /products');
    const exportedChild = spans.find((s) => s.name === 'db query');
    expect(exportedParent?.traceId).toBe(parent.spanContext().traceId);
    expect(exportedChild?.traceId).toBe(parent.spanContext().traceId);
    expect(exportedChild?.parentSpanId).toBe(parent.spanContext().spanId);
  });

  it('continues a trace from an inbound W3C traceparent and writes one for the next hop', async () => {
    receiver.received.length = 0;
    stop = startTelemetry({
      service: 'orders-under-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.base },
    });
    const inbound = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    const remote = propagation.extract(ROOT_CONTEXT, inbound);
    const outbound: Record<string, string> = {};
    const span = trace.getTracer('telemetry-test').startSpan('POST /orders', {}, remote);
    propagation.inject(trace.setSpan(remote, span), outbound);
    span.end();
    await stop();

    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(outbound.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${span.spanContext().spanId}-01`);
    const exported = spansOf(receiver.received).find((s) => s.name === 'POST /orders');
    expect(exported?.parentSpanId).toBe('00f067aa0ba902b7');
  });

  it('records spans with valid trace ids, and keeps the active span across await, without an exporter', async () => {
    receiver.received.length = 0;
    const warnings: string[] = [];
    stop = startTelemetry({ service: 'payments-under-test', env: {}, warn: (m) => warnings.push(m) });
    const tracer = trace.getTracer('telemetry-test');
    const seen = await tracer.startActiveSpan('charge', async (span) => {
      await new Promise((resolve) => setImmediate(resolve));
      const active = trace.getActiveSpan()?.spanContext();
      const recording = span.isRecording();
      span.end();
      return { active, own: span.spanContext(), recording };
    });
    expect(trace.isSpanContextValid(seen.own)).toBe(true);
    expect(seen.active?.spanId).toBe(seen.own.spanId);
    expect(seen.recording).toBe(true);
    await stop();
    expect(receiver.received).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('warns and keeps tracing when the endpoint is not a URL', async () => {
    const warnings: string[] = [];
    stop = startTelemetry({
      service: 'gateway-under-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' },
      warn: (m) => warnings.push(m),
    });
    const span = trace.getTracer('telemetry-test').startSpan('GET /api/catalog/products');
    span.end();
    expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT is not a URL; spans are not exported']);
  });

  it('warns, never throws, when the collector is unreachable', async () => {
    // A port that was just free: nothing listens there.
    const gone = await startReceiver();
    await close(gone.server);
    const warnings: string[] = [];
    stop = startTelemetry({
      service: 'notifications-under-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: gone.base, OTEL_BSP_EXPORT_TIMEOUT: '2000' },
      warn: (m) => warnings.push(m),
    });
    trace.getTracer('telemetry-test').startSpan('deliver').end();
    await expect(stop()).resolves.toBeUndefined();
    expect(warnings.length).toBeGreaterThan(0);
  });

  it('does not throw even when the warning sink itself throws', async () => {
    stop = startTelemetry({
      service: 'careless-sink',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://127.0.0.1/', OTEL_BSP_SCHEDULE_DELAY: 'soon' },
      warn: () => {
        throw new Error('sink broke');
      },
    });
    const span = trace.getTracer('telemetry-test').startSpan('still traced');
    expect(span.isRecording()).toBe(true);
    span.end();
    await expect(stop()).resolves.toBeUndefined();
  });

  it('refuses a second start while one runs, and can start again after stopping', async () => {
    const warnings: string[] = [];
    stop = startTelemetry({ service: 'first', env: {}, warn: (m) => warnings.push(m) });
    const again = startTelemetry({ service: 'second', env: {}, warn: (m) => warnings.push(m) });
    expect(again).toBe(stop);
    expect(warnings).toEqual(['telemetry already started; keeping the first set-up']);
    await stop();
    stop = startTelemetry({ service: 'third', env: {} });
    const span = trace.getTracer('telemetry-test').startSpan('after restart');
    expect(span.isRecording()).toBe(true);
    span.end();
  });
});
