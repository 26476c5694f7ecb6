/**
 * Where spans go and how, for `telemetry.ts`: the exporters the environment
 * asks for, each loaded only then (an exporter module and its transport cost
 * memory in every process, and most runs of a test need none), behind a batch
 * processor with a bounded queue, and every span that never reaches the
 * backend counted in `bw_trace_spans_dropped_total`.
 *
 * A request never waits for any of it: ending a span only appends it to the
 * processor's queue (dropped when the queue is full), exports run on a timer.
 */
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { counter } from './metrics.ts';

type Env = Readonly<Record<string, string | undefined>>;

export type ExportTarget =
  | { readonly kind: 'otlp'; readonly url: string; readonly variable: string }
  | { readonly kind: 'zipkin'; readonly url: string; readonly variable: string };

/** What the environment asks for: targets, and warnings for values it cannot use. */
export interface ExportTargets {
  readonly targets: ExportTarget[];
  readonly warnings: { message: string; variable: string }[];
}

function httpUrl(variable: string, raw: string): URL | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${variable} is not a URL; spans are not exported`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${variable} must be an http(s) URL; spans are not exported`;
  }
  return url;
}

/**
 * The span exporters the environment configures:
 * - Zipkin (JSON v2 over HTTP) at `OTEL_EXPORTER_ZIPKIN_ENDPOINT`, the full
 *   `…/api/v2/spans` URL, as OpenTelemetry's Zipkin exporter reads it (the
 *   local supervisor sets it to its Zipkin);
 * - OTLP/HTTP at `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is) or
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`, as the OTLP spec says).
 * Both may be set; unset means that exporter is off. An unusable value is a
 * warning, never an error.
 */
export function exportTargets(env: Env): ExportTargets {
  const targets: ExportTarget[] = [];
  const warnings: ExportTargets['warnings'] = [];
  const zipkin = env.OTEL_EXPORTER_ZIPKIN_ENDPOINT?.trim();
  if (zipkin) {
    const variable = 'OTEL_EXPORTER_ZIPKIN_ENDPOINT';
    const url = httpUrl(variable, zipkin);
    if (typeof url === 'string') warnings.push({ message: url, variable });
    else targets.push({ kind: 'zipkin', url: url.toString(), variable });
  }
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const variable = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = specific || general;
  if (raw) {
    const url = httpUrl(variable, raw);
    if (typeof url === 'string') warnings.push({ message: url, variable });
    else {
      if (!specific) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
      targets.push({ kind: 'otlp', url: url.toString(), variable });
    }
  }
  return { targets, warnings };
}

/** Loads a target's exporter module (a dynamic import: only processes that export pay for it). */
async function loadExporter(target: ExportTarget, timeoutMillis: number): Promise<SpanExporter> {
  if (target.kind === 'zipkin') {
    const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');
    // Built against its own copy of sdk-trace's types; the shape is the same.
    return new ZipkinExporter({ url: target.url }) as unknown as SpanExporter;
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ url: target.url, timeoutMillis });
}

/** Exports at once at most this many batches; more fail at once (counted) instead of piling up. */
const MAX_EXPORTS_IN_FLIGHT = 2;

class BusyError extends Error {
  override name = 'ExportBusy';
}

/**
 * A SpanExporter that loads the real one on first use and never holds more
 * than MAX_EXPORTS_IN_FLIGHT batches: a backend that hangs (SIGSTOPped by a
 * drill: Zipkin's exporter sets no timeout of its own) would otherwise keep
 * a batch in memory per export until it answers. A slot is freed when the
 * real export answers, so a resumed backend takes spans again.
 */
export class LazyExporter implements SpanExporter {
  readonly #load: () => Promise<SpanExporter>;
  #exporter: Promise<SpanExporter> | undefined;
  #inFlight = 0;

  constructor(load: () => Promise<SpanExporter>) {
    this.#load = load;
  }

  #get(): Promise<SpanExporter> {
    this.#exporter ??= this.#load();
    return this.#exporter;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#inFlight >= MAX_EXPORTS_IN_FLIGHT) {
      done({
        code: ExportResultCode.FAILED,
        error: new BusyError('the span backend has not answered the previous exports'),
      });
      return;
    }
    this.#inFlight += 1;
    const finish = (result: ExportResult) => {
      this.#inFlight -= 1;
      done(result);
    };
    this.#get().then(
      (exporter) => exporter.export(spans, finish),
      (error: Error) => finish({ code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {
    if (this.#exporter) await (await this.#exporter.catch(() => undefined))?.shutdown();
  }

  async forceFlush(): Promise<void> {
    if (this.#exporter) await (await this.#exporter.catch(() => undefined))?.forceFlush?.();
  }
}

export function lazyExporter(target: ExportTarget, timeoutMillis: number): LazyExporter {
  return new LazyExporter(() => loadExporter(target, timeoutMillis));
}

/** Why a span never reached the backend: the processor's queue was full, or its export failed. */
export type DropReason = 'queue_full' | 'export_failed';

/**
 * A MeterProvider for the batch processor's own metrics (the SDK's
 * `otel.sdk.processor.span.processed` counter, which carries `error.type`
 * for spans that were dropped or whose export failed), turned into
 * `bw_trace_spans_dropped_total{reason}` in Breakwater's registry. Every
 * other instrument the SDK asks for is a no-op.
 */
export function droppedSpansMeterProvider(): MeterProvider {
  const dropped = counter('traceSpansDropped');
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string, options?: Parameters<Meter['createCounter']>[1]) => {
      if (name !== 'otel.sdk.processor.span.processed') return noop.createCounter(name, options);
      return {
        add(value: number, attributes?: Record<string, unknown>) {
          const errorType = attributes?.['error.type'];
          if (errorType === undefined || value <= 0) return;
          const reason: DropReason = errorType === 'queue_full' ? 'queue_full' : 'export_failed';
          dropped.labels(reason).inc(value);
        },
      };
    },
  });
  return { getMeter: () => meter };
}
