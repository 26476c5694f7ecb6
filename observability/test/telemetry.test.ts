import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { counter } from '../src/metrics.ts';
import { sampleRatio } from '../src/sampling.ts';
import { exportTargets } from '../src/span-export.ts';
import { type StopTelemetry, startTelemetry } from '../src/telemetry.ts';

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
/** What Zipkin's POST /api/v2/spans takes (the fields these tests read). */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  localEndpoint?: { serviceName?: string };
}
interface Received {
  path: string;
  contentType: string | undefined;
  body: OtlpExport;
  /** The same body, for a Zipkin export. */
  zipkin: ZipkinSpan[];
}

/**
 * A receiver that answers every export 200, or (`hang`) holds every request
 * open without an answer, as a SIGSTOPped backend does; `open` counts those.
 */
async function startReceiver(
  options: { hang?: boolean } = {},
): Promise<{ server: Server; base: string; received: Received[]; open: () => number }> {
  const received: Received[] = [];
  let open = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    open += 1;
    res.on('close', () => {
      open -= 1;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: json as OtlpExport,
        zipkin: json as ZipkinSpan[],
      });
      if (!options.hang) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, received, open: () => open };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** bw_trace_spans_dropped_total by reason, now (the registry is the process's one: compare deltas). */
async function droppedSpans(): Promise<Record<string, number>> {
  const { values } = await counter('traceSpansDropped').get();
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]));
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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

describe('exportTargets', () => {
  const urls = (env: Record<string, string>) => exportTargets(env).targets.map((t) => `${t.kind} ${t.url}`);

  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(urls({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual([
      'otlp http://127.0.0.1:4318/v1/traces',
    ]);
    expect(urls({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' })).toEqual([
      'otlp http://collector:4318/otlp/v1/traces',
    ]);
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, before the general one', () => {
    expect(
      urls({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      }),
    ).toEqual(['otlp http://b:4318/custom']);
  });

  it('takes OTEL_EXPORTER_ZIPKIN_ENDPOINT as the full spans URL, beside OTLP', () => {
    expect(
      urls({
        OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:9411/api/v2/spans',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      }),
    ).toEqual(['zipkin http://127.0.0.1:9411/api/v2/spans', 'otlp http://a:4318/v1/traces']);
  });

  it('means "do not export" when unset or blank, and warns on a value that is not an http URL', () => {
    expect(exportTargets({})).toEqual({ targets: [], warnings: [] });
    expect(exportTargets({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual({ targets: [], warnings: [] });
    expect(exportTargets({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).warnings).toEqual([
      { message: expect.stringContaining('http(s) URL'), variable: 'OTEL_EXPORTER_OTLP_ENDPOINT' },
    ]);
    expect(exportTargets({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'not a url' })).toEqual({
      targets: [],
      warnings: [
        {
          message: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT is not a URL; spans are not exported',
          variable: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
        },
      ],
    });
  });
});

describe('sampleRatio', () => {
  it('keeps every trace by default', () => {
    expect(sampleRatio({})).toEqual({ ratio: 1, warnings: [] });
  });

  it('reads the ratio from OTEL_TRACES_SAMPLER_ARG, and on/off from OTEL_TRACES_SAMPLER', () => {
    expect(sampleRatio({ OTEL_TRACES_SAMPLER_ARG: '0.25' })).toEqual({ ratio: 0.25, warnings: [] });
    expect(
      sampleRatio({ OTEL_TRACES_SAMPLER: 'parentbased_always_off', OTEL_TRACES_SAMPLER_ARG: '0.5' }),
    ).toEqual({
      ratio: 0,
      warnings: [],
    });
    expect(sampleRatio({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }).ratio).toBe(1);
  });

  it('names the variable and keeps the default for a value it cannot use', () => {
    expect(sampleRatio({ OTEL_TRACES_SAMPLER_ARG: '10%' })).toEqual({
      ratio: 1,
      warnings: [expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/)],
    });
    expect(sampleRatio({ OTEL_TRACES_SAMPLER_ARG: '1.5' }).warnings).toHaveLength(1);
    expect(sampleRatio({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }).warnings).toEqual([
      expect.stringMatching(/^OTEL_TRACES_SAMPLER must be one of parentbased_traceidratio/),
    ]);
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

  it('exports spans to Zipkin (JSON v2) when OTEL_EXPORTER_ZIPKIN_ENDPOINT is set', async () => {
    receiver.received.length = 0;
    stop = startTelemetry({
      service: 'orders-under-test',
      env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${receiver.base}/api/v2/spans` },
      warn: (m) => expect.fail(`unexpected warning: ${m}`),
    });
    const tracer = trace.getTracer('telemetry-test');
    const parent = tracer.startSpan('POST /orders');
    tracer.startSpan('reserve stock', {}, trace.setSpan(context.active(), parent)).end();
    parent.end();
    await stop();

    expect(receiver.received.map((r) => r.path)).toContain('/api/v2/spans');
    const spans = receiver.received.flatMap((r) => r.zipkin);
    const child = spans.find((s) => s.name === 'reserve stock');
    expect(child).toMatchObject({
      traceId: parent.spanContext().traceId,
      parentId: parent.spanContext().spanId,
      localEndpoint: { serviceName: 'orders-under-test' },
    });
  });

  it('samples roots by OTEL_TRACES_SAMPLER_ARG, follows a sampled parent, and keeps trace ids either way', async () => {
    receiver.received.length = 0;
    stop = startTelemetry({
      service: 'gateway-under-test',
      env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${receiver.base}/api/v2/spans`, OTEL_TRACES_SAMPLER_ARG: '0' },
      warn: (m) => expect.fail(`unexpected warning: ${m}`),
    });
    const tracer = trace.getTracer('telemetry-test');
    const root = tracer.startSpan('GET /api/catalog/products');
    const remote = propagation.extract(ROOT_CONTEXT, {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    const followed = tracer.startSpan('POST /api/orders', {}, remote);
    root.end();
    followed.end();
    await stop();

    expect(root.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(root.spanContext())).toBe(true);
    const names = receiver.received.flatMap((r) => r.zipkin).map((s) => s.name);
    expect(names).toContain('POST /api/orders');
    expect(names).not.toContain('GET /api/catalog/products');
  });

  it('counts spans it cannot deliver: a dead backend, a full queue', async () => {
    const gone = await startReceiver();
    await close(gone.server);
    const before = await droppedSpans();
    stop = startTelemetry({
      service: 'payments-under-test',
      env: {
        OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${gone.base}/api/v2/spans`,
        OTEL_BSP_MAX_QUEUE_SIZE: '4',
        OTEL_BSP_SCHEDULE_DELAY: '60000', // nothing leaves the queue before stop()
      },
      warn: () => {},
    });
    const tracer = trace.getTracer('telemetry-test');
    for (let i = 0; i < 10; i++) tracer.startSpan(`charge ${i}`).end();
    await stop();
    // A batch is the whole queue here (4): the first four leave at once for the
    // dead backend, the next four wait for stop(), the last two find it full.
    const after = await droppedSpans();
    expect((after.queue_full ?? 0) - (before.queue_full ?? 0)).toBe(2);
    expect((after.export_failed ?? 0) - (before.export_failed ?? 0)).toBe(8);
  });

  it('holds at most two exports open on a backend that hangs, and counts what it refuses', async () => {
    const hanging = await startReceiver({ hang: true });
    try {
      const before = await droppedSpans();
      stop = startTelemetry({
        service: 'notifications-under-test',
        env: {
          OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${hanging.base}/api/v2/spans`,
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1',
          OTEL_BSP_SCHEDULE_DELAY: '10',
          OTEL_BSP_EXPORT_TIMEOUT: '100',
        },
        warn: () => {},
      });
      const tracer = trace.getTracer('telemetry-test');
      for (let i = 0; i < 6; i++) tracer.startSpan(`deliver ${i}`).end();
      await until(
        async () => ((await droppedSpans()).export_failed ?? 0) - (before.export_failed ?? 0) >= 3,
        'exports refused while two hang',
      );
      expect(hanging.open()).toBe(2);
    } finally {
      await close(hanging.server);
    }
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

describe('exporter modules', () => {
  // A fresh Node process records every module specifier it resolves: an
  // exporter (and its transport) is imported only when its variable is set,
  // so a process that exports nothing does not carry it in memory.
  const PROBE = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
    const { startTelemetry } = await import(process.argv[1]);
    const stop = startTelemetry({ service: 'probe', env: JSON.parse(process.argv[2]), warn: () => {} });
    const { trace } = await import('@opentelemetry/api');
    trace.getTracer('probe').startSpan('probe').end();
    await stop();
    console.log(JSON.stringify([...seen].filter((s) => s.startsWith('@opentelemetry/exporter'))));
  `;
  const loaded = (env: Record<string, string>): string[] => {
    const dir = path.resolve(import.meta.dirname, '..');
    const out = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', PROBE, path.join(dir, 'src', 'telemetry.ts'), JSON.stringify(env)],
      { cwd: dir, encoding: 'utf8', timeout: 30_000 },
    );
    expect(out.status, out.stderr).toBe(0);
    return JSON.parse(out.stdout.trim().split('\n').pop() ?? '[]') as string[];
  };

  it('loads no exporter when none is configured, and only the configured one otherwise', () => {
    expect(loaded({})).toEqual([]);
    expect(loaded({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:9/api/v2/spans' })).toEqual([
      '@opentelemetry/exporter-zipkin',
    ]);
    expect(loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual([
      '@opentelemetry/exporter-trace-otlp-http',
    ]);
  }, 60_000);
});
