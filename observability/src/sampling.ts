/**
 * The head sampler every process uses: parent-based, so a trace is kept or
 * dropped whole (a hop follows the `sampled` flag of the traceparent it
 * receives); a root span (the gateway's, or a worker's own) is kept with the
 * configured probability, decided from its trace id (so every process that
 * starts a root decides the same way for the same id).
 *
 * Default 1: every trace. The local platform is small, Zipkin's store is
 * bounded by a span limit rather than by sampling, and a drill report needs
 * the traces of the slowest and the failed requests, which a head sampler
 * cannot pick (it decides before the outcome is known): at a ratio below 1
 * the trace of the one request that failed is most likely not there. A
 * cluster with real traffic sets a ratio (README "Traces").
 *
 * Settings, OpenTelemetry's own variables:
 * - `OTEL_TRACES_SAMPLER`: `parentbased_traceidratio` (the default),
 *   `parentbased_always_on` (ratio 1) or `parentbased_always_off` (ratio 0);
 * - `OTEL_TRACES_SAMPLER_ARG`: the ratio, a number from 0 to 1.
 * Telemetry settings never stop a service (STYLE.md): a value it cannot use
 * is a warning naming the variable, and the default applies.
 *
 * A span that is not sampled is not recorded and not exported, but it has a
 * valid trace id all the same: log lines still carry `trace_id`.
 */
import { ParentBasedSampler, type Sampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';

type Env = Readonly<Record<string, string | undefined>>;

/** Share of root spans kept when nothing is configured. */
export const DEFAULT_SAMPLE_RATIO = 1;

const SAMPLERS: Record<string, number | 'arg'> = {
  parentbased_traceidratio: 'arg',
  parentbased_always_on: 1,
  parentbased_always_off: 0,
};

/** The configured ratio and the warnings for values that could not be used. */
export function sampleRatio(env: Env): { ratio: number; warnings: string[] } {
  const warnings: string[] = [];
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_traceidratio';
  let chosen = SAMPLERS[name];
  if (chosen === undefined) {
    warnings.push(
      `OTEL_TRACES_SAMPLER must be one of ${Object.keys(SAMPLERS).join(', ')}; using parentbased_traceidratio`,
    );
    chosen = 'arg';
  }
  if (chosen !== 'arg') return { ratio: chosen, warnings };
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (raw === undefined || raw === '') return { ratio: DEFAULT_SAMPLE_RATIO, warnings };
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    warnings.push(
      `OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of traces kept); using ${DEFAULT_SAMPLE_RATIO}`,
    );
    return { ratio: DEFAULT_SAMPLE_RATIO, warnings };
  }
  return { ratio: n, warnings };
}

export function traceSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
}
