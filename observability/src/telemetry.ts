/**
 * The OpenTelemetry SDK wiring: the first import of every `main.ts`.
 *
 * ```ts
 * import { startTelemetry } from '@breakwater/observability/telemetry';
 * const stopTelemetry = startTelemetry({ service: 'catalog' });
 * // … build the app, listen; on SIGTERM, after draining: await stopTelemetry();
 * ```
 *
 * What it registers, globally, through @opentelemetry/api:
 * - a tracer provider with a parent-based ratio sampler (`sampling.ts`:
 *   every trace by default, `OTEL_TRACES_SAMPLER_ARG` sets the share), so
 *   trace ids exist for log lines and metric exemplars even when nothing
 *   exports spans;
 * - the AsyncLocalStorage context manager, so the active span follows
 *   `await` and callbacks;
 * - the W3C trace-context and baggage propagators (`traceparent`,
 *   `tracestate`, `baggage`), used over HTTP and inside stream messages by
 *   the facade in `tracing.ts`;
 * - span exporters behind a batch processor each (`span-export.ts`): Zipkin
 *   when `OTEL_EXPORTER_ZIPKIN_ENDPOINT` is set (the local supervisor sets it
 *   to its Zipkin), OTLP/HTTP when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` is; each exporter module is loaded only
 *   then, the queue is bounded (`OTEL_BSP_MAX_QUEUE_SIZE`), and spans that
 *   never reach the backend count in `bw_trace_spans_dropped_total`.
 *
 * Telemetry never breaks the service: a bad setting or a failing collector
 * produces a warning (at most one per minute for the same message) and the
 * service runs on with less telemetry. Nothing here throws into app code.
 */
import { hostname } from 'node:os';
import { context, type DiagLogger, DiagLogLevel, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  loggingErrorHandler,
  setGlobalErrorHandler,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { sampleRatio, traceSampler } from './sampling.ts';
import { droppedSpansMeterProvider, exportTargets, lazyExporter } from './span-export.ts';

/** Stops telemetry: flushes pending spans (bounded by the export timeout) and unregisters the SDK. */
export type StopTelemetry = () => Promise<void>;

/** Receives telemetry warnings; must not throw. */
export type TelemetryWarn = (message: string, detail?: Record<string, unknown>) => void;

export interface TelemetryOptions {
  /** The service's name (`catalog`, `gateway`, …): the spans' `service.name`. */
  readonly service: string;
  /** The service's version, `service.version` (default: none). */
  readonly version?: string;
  /** Where OTEL_* settings are read from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Where warnings go (default: one pino-compatible JSON line on stderr —
   * the logger itself may not be set up yet when telemetry starts).
   */
  readonly warn?: TelemetryWarn;
}

/** Batch processor defaults: export every second, give up on an export after 3 s (so stopping never hangs on a dead collector). */
const DEFAULT_SCHEDULE_DELAY_MS = 1_000; // 1 s
const DEFAULT_EXPORT_TIMEOUT_MS = 3_000; // 3 s
/**
 * Spans waiting for export, at most (the SDK's default): ~2 s of a busy
 * gateway's spans; beyond it spans are dropped and counted, never waited for.
 */
const DEFAULT_MAX_QUEUE_SIZE = 2_048;
const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
/** The same warning is written at most once per this period. */
const WARN_EVERY_MS = 60_000; // 1 min

let running: { service: string; stop: StopTelemetry } | undefined;

/**
 * Registers the tracing SDK for `service` and returns the function that
 * stops it. Calling it again while it runs warns and returns the running
 * instance's stop function (one SDK per process).
 */
export function startTelemetry(options: TelemetryOptions): StopTelemetry {
  const env = options.env ?? process.env;
  const warn = throttled(options.warn ?? stderrWarn(options.service));
  if (running) {
    warn('telemetry already started; keeping the first set-up', {
      running: running.service,
      requested: options.service,
    });
    return running.stop;
  }
  try {
    return start(options, env, warn);
  } catch (err) {
    // Only reachable through a bug or an incompatible SDK: carry on untraced.
    warn('telemetry set-up failed; running without tracing', { err: describe(err) });
    return async () => {};
  }
}

function start(
  options: TelemetryOptions,
  env: Readonly<Record<string, string | undefined>>,
  warn: TelemetryWarn,
): StopTelemetry {
  // The SDK reports export failures through its global error handler and
  // the diag logger; both end in our (throttled) warning.
  setGlobalErrorHandler((err) => warn('telemetry error', { err: describe(err) }));
  diag.setLogger(diagToWarn(warn), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  const spanProcessors: SpanProcessor[] = [];
  const { targets, warnings } = exportTargets(env);
  for (const w of warnings) warn(w.message, { variable: w.variable });
  if (targets.length > 0) {
    const exportTimeoutMillis = positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', DEFAULT_EXPORT_TIMEOUT_MS, warn);
    const scheduledDelayMillis = positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', DEFAULT_SCHEDULE_DELAY_MS, warn);
    const maxQueueSize = positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', DEFAULT_MAX_QUEUE_SIZE, warn);
    const maxExportBatchSize = Math.min(
      maxQueueSize,
      positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULT_MAX_EXPORT_BATCH_SIZE, warn),
    );
    const selfObsMeterProvider = droppedSpansMeterProvider();
    for (const target of targets) {
      spanProcessors.push(
        new BatchSpanProcessor({
          exporter: lazyExporter(target, exportTimeoutMillis),
          scheduledDelayMillis,
          exportTimeoutMillis,
          maxQueueSize,
          maxExportBatchSize,
          selfObsMeterProvider,
        }),
      );
    }
  }
  const sampling = sampleRatio(env);
  for (const w of sampling.warnings) warn(w);

  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.service,
        'service.namespace': 'breakwater',
        'service.instance.id': `${hostname()}:${process.pid}`,
        ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
      }),
    ),
    sampler: traceSampler(sampling.ratio),
    spanProcessors,
  });

  const contextManager = new AsyncLocalStorageContextManager().enable();
  const registered = [
    context.setGlobalContextManager(contextManager),
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    ),
    trace.setGlobalTracerProvider(provider),
  ];
  if (registered.includes(false)) {
    warn('another OpenTelemetry SDK was registered first; it stays in charge');
  }

  let stopping: Promise<void> | undefined;
  const stop: StopTelemetry = () => {
    stopping ??= (async () => {
      try {
        await provider.shutdown();
      } catch (err) {
        warn('telemetry shutdown failed; pending spans may be lost', { err: describe(err) });
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
        diag.disable();
        setGlobalErrorHandler(loggingErrorHandler());
        if (running?.stop === stop) running = undefined;
      }
    })();
    return stopping;
  };
  running = { service: options.service, stop };
  return stop;
}

function positiveInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  warn: TelemetryWarn,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  const unit = name.endsWith('_SIZE') ? 'spans' : 'ms';
  warn(`${name} must be a positive integer (${unit}); using the default`, { value: raw, default: fallback });
  return fallback;
}

function diagToWarn(warn: TelemetryWarn): DiagLogger {
  const log =
    (level: string) =>
    (message: string, ...args: unknown[]) =>
      warn(`opentelemetry: ${message}`, {
        level,
        ...(args.length > 0 ? { args: args.map(describe) } : {}),
      });
  return {
    error: log('error'),
    warn: log('warn'),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
}

/** Drops a warning whose message was already written within the last minute. */
function throttled(warn: TelemetryWarn): TelemetryWarn {
  const lastAt = new Map<string, number>();
  return (message, detail) => {
    const now = Date.now();
    const last = lastAt.get(message);
    if (last !== undefined && now - last < WARN_EVERY_MS) return;
    lastAt.set(message, now);
    try {
      warn(message, detail);
    } catch {
      // A warning sink that throws must not turn telemetry into a failure.
    }
  };
}

function stderrWarn(service: string): TelemetryWarn {
  return (message, detail) => {
    // pino's shape and level number (40 = warn), so log pipelines parse it.
    process.stderr.write(
      `${JSON.stringify({ level: 40, time: Date.now(), service, msg: message, ...detail })}\n`,
    );
  };
}

function describe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.parse(JSON.stringify(value)) as unknown;
    } catch {
      return String(value);
    }
  }
  return value;
}
