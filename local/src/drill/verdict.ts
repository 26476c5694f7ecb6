/**
 * The verdict table from k6's summary export (legacy format: `metrics[name]`
 * with `thresholds: { expr: crossed }`): one row per phase × route with its
 * requests, served share, p95, p99, the thresholds stated on it and
 * pass/fail; then the thresholds that belong to no route (time to recover).
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
  pass: boolean;
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
  pass: boolean;
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

function stated(metric: SummaryMetric | undefined, label: string): { text: string[]; pass: boolean } {
  const text: string[] = [];
  let pass = true;
  for (const [expr, crossed] of Object.entries(metric?.thresholds ?? {})) {
    if (TRIVIAL.test(expr)) continue;
    text.push(`${label} ${expr}`);
    if (crossed) pass = false;
  }
  return { text, pass };
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
      const parts = [
        stated(served, 'served'),
        stated(failures, 'failures'),
        stated(dur, 'latency'),
        stated(r.metrics.get('degraded'), 'degraded'),
        stated(r.metrics.get('checks'), 'checks'),
      ];
      return {
        phase: r.phase,
        route: r.rest ? `${r.route} (${r.rest})` : r.route,
        requests: reqs?.count ?? 0,
        ...(served?.value !== undefined ? { served: served.value } : {}),
        ...(failures?.value !== undefined ? { failures: failures.value } : {}),
        degraded: r.metrics.get('degraded')?.count ?? 0,
        ...(dur?.['p(95)'] !== undefined ? { p95: dur['p(95)'] } : {}),
        ...(dur?.['p(99)'] !== undefined ? { p99: dur['p(99)'] } : {}),
        thresholds: parts.flatMap((p) => p.text),
        pass: parts.every((p) => p.pass),
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
  return { rows, checks, pass: rows.every((r) => r.pass) && checks.every((c) => c.pass) };
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
      r.thresholds.length === 0 ? '·' : r.pass ? 'PASS' : 'FAIL',
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) =>
    l
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [
    `drill ${drill}: ${v.pass ? 'PASS' : 'FAIL'}`,
    fmt(head),
    fmt(widths.map((w) => '-'.repeat(w))),
  ];
  for (const l of lines.slice(1)) out.push(fmt(l));
  if (v.checks.length) {
    out.push('');
    const cw = Math.max(...v.checks.map((c) => c.name.length));
    for (const c of v.checks)
      out.push(`${c.name.padEnd(cw)}  ${c.value}  (${c.threshold})  ${c.pass ? 'PASS' : 'FAIL'}`);
  }
  return out.join('\n');
}
