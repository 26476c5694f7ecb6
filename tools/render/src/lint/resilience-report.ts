/** The resilience lint's report: one table row per level of every path, then the violations. */
import type { LevelRow, ResilienceReport, Violation } from './resilience-model.ts';

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const ms = (n: number) => (Number.isFinite(n) ? String(n) : '—');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function cells(r: LevelRow): string[] {
  const l = r.layer;
  const backoff = l.backoffMaxMs.reduce((a, b) => a + b, 0);
  const parent = r.parent;
  return [
    r.route,
    r.path.join(' → '),
    l.kind,
    `${r.tries}`,
    `${r.attempts}`,
    fmt(r.cappedAttempts),
    `${r.tries}×${ms(l.timeoutMs)}+${backoff}=${ms(r.spanMs)}`,
    ms(l.deadlineMs),
    ms(r.worstMs),
    parent === undefined
      ? '(edge)'
      : `${ms(parent.timeoutMs)} ${r.worstMs <= parent.timeoutMs ? 'ok' : 'NO'}`,
  ];
}

const HEADER = [
  'route',
  'path',
  'layer',
  'tries',
  'attempts',
  'capped',
  'tries×try+backoff ms',
  'deadline',
  'worst ms',
  'parent try ms',
];

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `✗ [${v.rule}] ${v.where}\n    ${v.message}`).join('\n');
}

export function formatReport(report: ResilienceReport): string {
  const out = [
    table(
      HEADER,
      report.rows.map((r) => cells(r)),
    ),
    '',
    'attempts: tries at the callee for one request at the edge (product of 1 + maxRetries of every level so far);',
    'capped: the same with each budgeted level at most 1 + percent/100, plus its floor of minRetriesPerSec per caller',
    'process; worst ms: min(deadline, tries × per-try timeout + worst backoff), which must fit the parent try.',
    '',
  ];
  if (report.violations.length === 0) out.push('resilience lint: no violations');
  else
    out.push(
      formatViolations(report.violations),
      '',
      `resilience lint: ${report.violations.length} violation(s)`,
    );
  return out.join('\n');
}
