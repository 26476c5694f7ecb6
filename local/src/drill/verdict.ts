/**
 * The verdict table from k6's summary export (legacy format: `metrics[name]`
 * with `thresholds: { expr: crossed }`): one row per phase × route with its
 * requests, served share, p95, p99, the thresholds stated on it and
 * PASS / FAIL / INCONCLUSIVE; then the thresholds that belong to no route
 * (time to recover).
 *
 * INCONCLUSIVE: a row whose thresholds held, but one of them over too few
 * samples to mean anything (see {@link minSamples}). A p99 over 30 samples
 * is the maximum of 30 requests — it says nothing about the 99th percentile
 * of the traffic — so such a row is not a PASS. A crossed threshold stays a
 * FAIL whatever the sample: the failure was observed.
 */

export interface SummaryMetric {
  count?: number;
  value?: number;
  passes?: number;
  fails?: number;
  max?: number;
  'p(95)'?: number;
  'p(99)'?: number;
  thresholds?: Record<string, boolean>;
}

export interface Summary {
  metrics: Record<string, SummaryMetric>;
}

/** What a row, a check or a whole run says. */
export type Outcome = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

export interface VerdictRow {
  phase: string;
  route: string;
  requests: number;
  served?: number;
  failures?: number;
  degraded: number;
  p95?: number;
  p99?: number;
  thresholds: string[];
  /** True only when every threshold held over enough samples (outcome PASS). */
  pass: boolean;
  /** Absent on a row without thresholds (shown as `·`). */
  outcome?: Outcome;
  /** Why the row is INCONCLUSIVE: `latency p(99)<2100 over 30 samples (needs 100)`. */
  undersampled?: string[];
}

export interface ExtraCheck {
  name: string;
  value: string;
  threshold: string;
  pass: boolean;
}

export interface Verdict {
  rows: VerdictRow[];
  checks: ExtraCheck[];
  /** outcome === 'PASS'. */
  pass: boolean;
  /** FAIL when anything failed, else INCONCLUSIVE when a row was under-sampled, else PASS. */
  outcome: Outcome;
}

/** Fewest requests a rate threshold (`served rate>=0.995`) is judged over. */
export const MIN_RATE_SAMPLES = 50;

/**
 * Fewest samples a threshold expression can be judged over, or 0 when any
 * number will do (counts; a max is decided by one sample). A percentile
 * `p(q)` needs 1 / (1 − q/100) samples before it is more than the maximum:
 * p(99) 100, p(95) 20, p(50) 2; a rate needs {@link MIN_RATE_SAMPLES}.
 */
export function minSamples(expr: string): number {
  const p = /^p\((\d+(?:\.\d+)?)\)/.exec(expr);
  if (p) return Math.ceil(100 / (100 - Number(p[1])) - 1e-9);
  if (/^rate\b/.test(expr)) return MIN_RATE_SAMPLES;
  return 0;
}

const TRIVIAL = /^(count>=0|p\(95\)>=0|rate>=0|max>=0)$/;

/** `name{a:b,c:d}` → { metric, tags }. */
export function parseKey(key: string): { metric: string; tags: Record<string, string> } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
  const tags: Record<string, string> = {};
  for (const part of (m?.[2] ?? '').split(',').filter(Boolean)) {
    const i = part.indexOf(':');
    tags[part.slice(0, i)] = part.slice(i + 1);
  }
  return { metric: m?.[1] ?? key, tags };
}

/** Samples behind a metric: a rate's passes + fails, else a count, else `fallback` (a trend has none). */
function samplesOf(metric: SummaryMetric | undefined, fallback: number): number {
  if (metric?.passes !== undefined || metric?.fails !== undefined)
    return (metric.passes ?? 0) + (metric.fails ?? 0);
  return metric?.count ?? fallback;
}

function stated(
  metric: SummaryMetric | undefined,
  label: string,
  samples: number,
): { text: string[]; pass: boolean; undersampled: string[] } {
  const text: string[] = [];
  const undersampled: string[] = [];
  let pass = true;
  for (const [expr, crossed] of Object.entries(metric?.thresholds ?? {})) {
    if (TRIVIAL.test(expr)) continue;
    text.push(`${label} ${expr}`);
    if (crossed) pass = false;
    const needs = minSamples(expr);
    if (!crossed && samples < Math.max(needs, 1) && !/^count/.test(expr))
      undersampled.push(`${label} ${expr} over ${samples} samples (needs ${Math.max(needs, 1)})`);
  }
  return { text, pass, undersampled };
}

function outcomeOf(pass: boolean, undersampled: readonly string[]): Outcome {
  if (!pass) return 'FAIL';
  return undersampled.length > 0 ? 'INCONCLUSIVE' : 'PASS';
}

export function verdictFrom(summary: Summary, extra: readonly ExtraCheck[] = []): Verdict {
  const byKey = new Map<
    string,
    { phase: string; route: string; rest: string; metrics: Map<string, SummaryMetric> }
  >();
  for (const [key, value] of Object.entries(summary.metrics)) {
    const { metric, tags } = parseKey(key);
    if (tags.phase === undefined || tags.route === undefined) continue;
    const rest = Object.entries(tags)
      .filter(([k]) => k !== 'phase' && k !== 'route')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const id = `${tags.phase}|${tags.route}|${rest}`;
    const row = byKey.get(id) ?? { phase: tags.phase, route: tags.route, rest, metrics: new Map() };
    row.metrics.set(metric, value);
    byKey.set(id, row);
  }
  const order = ['steady', 'fault', 'grace', 'recovery'];
  const rows: VerdictRow[] = [...byKey.values()]
    .map((r) => {
      const reqs = r.metrics.get('http_reqs');
      const served = r.metrics.get('served');
      const failures = r.metrics.get('failures');
      const dur = r.metrics.get('http_req_duration');
      const requests = reqs?.count ?? 0;
      const checksMetric = r.metrics.get('checks');
      const parts = [
        stated(served, 'served', samplesOf(served, requests)),
        stated(failures, 'failures', samplesOf(failures, requests)),
        // A trend's summary has no count: its samples are the row's requests.
        stated(dur, 'latency', requests),
        stated(r.metrics.get('degraded'), 'degraded', requests),
        stated(checksMetric, 'checks', samplesOf(checksMetric, requests)),
      ];
      const pass = parts.every((p) => p.pass);
      const undersampled = parts.flatMap((p) => p.undersampled);
      const thresholds = parts.flatMap((p) => p.text);
      const outcome = outcomeOf(pass, undersampled);
      return {
        phase: r.phase,
        route: r.rest ? `${r.route} (${r.rest})` : r.route,
        requests: reqs?.count ?? 0,
        ...(served?.value !== undefined ? { served: served.value } : {}),
        ...(failures?.value !== undefined ? { failures: failures.value } : {}),
        degraded: r.metrics.get('degraded')?.count ?? 0,
        ...(dur?.['p(95)'] !== undefined ? { p95: dur['p(95)'] } : {}),
        ...(dur?.['p(99)'] !== undefined ? { p99: dur['p(99)'] } : {}),
        thresholds,
        pass: outcome === 'PASS',
        ...(thresholds.length > 0 ? { outcome } : {}),
        ...(undersampled.length > 0 && pass ? { undersampled } : {}),
      };
    })
    .filter((r) => r.requests > 0 || r.thresholds.length > 0)
    .sort((a, b) => order.indexOf(a.phase) - order.indexOf(b.phase) || a.route.localeCompare(b.route));

  const checks: ExtraCheck[] = [];
  for (const [key, value] of Object.entries(summary.metrics)) {
    const { tags } = parseKey(key);
    if (tags.phase !== undefined && tags.route !== undefined) continue;
    for (const [expr, crossed] of Object.entries(value.thresholds ?? {})) {
      if (TRIVIAL.test(expr)) continue;
      const shown =
        key === 'time_to_recover'
          ? `${((value.max ?? 0) / 1000).toFixed(1)} s`
          : key === 'breaker_recovery_ms'
            ? `${Math.round(value.max ?? 0)} ms`
            : value.value !== undefined
              ? String(Math.round(value.value * 1000) / 1000)
              : String(value.max ?? value.count ?? '');
      checks.push({ name: key, value: shown, threshold: expr, pass: !crossed });
    }
  }
  checks.push(...extra);
  return withOutcome({ rows, checks, pass: false, outcome: 'FAIL' });
}

/** Recomputes `outcome` and `pass` from the rows and checks (after a check is added or a run interrupted). */
export function withOutcome(v: Verdict, forceFail = false): Verdict {
  const failed = forceFail || v.rows.some((r) => r.outcome === 'FAIL') || v.checks.some((c) => !c.pass);
  const outcome: Outcome = failed
    ? 'FAIL'
    : v.rows.some((r) => r.outcome === 'INCONCLUSIVE')
      ? 'INCONCLUSIVE'
      : 'PASS';
  return { ...v, outcome, pass: outcome === 'PASS' };
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(2)} %`);
const ms = (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v)} ms`);

export function formatVerdict(drill: string, v: Verdict): string {
  const head = ['phase', 'route', 'requests', 'success', 'degraded', 'p95', 'p99', 'threshold', 'verdict'];
  const lines: string[][] = [head];
  for (const r of v.rows) {
    lines.push([
      r.phase,
      r.route,
      String(r.requests),
      pct(r.served),
      String(r.degraded),
      ms(r.p95),
      ms(r.p99),
      r.thresholds.join('; ') || '—',
      r.outcome ?? '·',
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) =>
    l
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [`drill ${drill}: ${v.outcome}`, fmt(head), fmt(widths.map((w) => '-'.repeat(w)))];
  for (const l of lines.slice(1)) out.push(fmt(l));
  const thin = v.rows.flatMap((r) => (r.undersampled ?? []).map((u) => `${r.phase} ${r.route}: ${u}`));
  if (thin.length) {
    out.push('');
    out.push('INCONCLUSIVE — too few samples to judge:');
    for (const t of thin) out.push(`  ${t}`);
  }
  if (v.checks.length) {
    out.push('');
    const cw = Math.max(...v.checks.map((c) => c.name.length));
    for (const c of v.checks)
      out.push(`${c.name.padEnd(cw)}  ${c.value}  (${c.threshold})  ${c.pass ? 'PASS' : 'FAIL'}`);
  }
  return out.join('\n');
}
