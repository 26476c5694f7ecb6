/**
 * The resilience score of a drill run and the history of runs
 * (`reports/history.jsonl`, one JSON object per line, appended by every run).
 *
 * Score (0–100), in the spirit of Litmus's probe-weighted resilience score:
 *
 *   score = 100 × held / judged × (1 − 0.2 × min(1, time to recover / its budget))
 *
 * - `judged` sums the weights of every hypothesis that was judged, `held` of
 *   those that held. Weights say what a broken hypothesis costs a user: a
 *   database invariant (an accepted order lost, a double charge) 3; a
 *   phase × route row in the fault phase — the hypothesis the drill exists
 *   for — 2; a steady or recovery row and any other run-wide check 1. An
 *   INCONCLUSIVE row (too few samples) is not judged: it neither helps nor
 *   hurts, and the verdict says INCONCLUSIVE instead.
 * - Recovering is part of resilience, so time to recover costs up to 20
 *   points, in proportion to the drill's own budget (`time_to_recover`'s
 *   `max<…` threshold, 15 s when it states none): a drill that held
 *   everything and recovered at once scores 100, one that recovered just
 *   within its budget 80.
 *
 * Degraded answers (stale, 202 pending, 429, fast 503) are by design, so the
 * degraded share is recorded next to the score but does not lower it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Outcome, Summary, Verdict } from './verdict.ts';

export const HISTORY_FILE = 'history.jsonl';

/** Weights of the hypotheses (see the module comment). */
export const WEIGHTS = { invariant: 3, faultRow: 2, row: 1, check: 1 } as const;
/** Time to recover costs at most this share of the score. */
export const RECOVERY_PENALTY = 0.2;
const DEFAULT_TTR_BUDGET_MS = 15_000;

const entrySchema = z.object({
  drill: z.string().min(1),
  time: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO time'),
  testId: z.string(),
  verdict: z.enum(['PASS', 'FAIL', 'INCONCLUSIVE']),
  short: z.boolean(),
  score: z.number().min(0).max(100),
  held: z.number().min(0),
  judged: z.number().min(0),
  timeToRecoverMs: z.number().min(0).optional(),
  degradedShare: z.number().min(0).max(1),
  requests: z.number().int().min(0),
  report: z.string().optional(),
});

export type HistoryEntry = z.infer<typeof entrySchema>;

export interface Score {
  score: number;
  held: number;
  judged: number;
  /** The factor time to recover left, 0.8–1. */
  recovery: number;
}

/** The budget `time_to_recover` was judged against (`max<15000`), ms. */
function ttrBudget(summary: Summary | undefined): number {
  for (const expr of Object.keys(summary?.metrics.time_to_recover?.thresholds ?? {})) {
    const m = /^max<=?(\d+(?:\.\d+)?)$/.exec(expr);
    if (m) return Number(m[1]);
  }
  return DEFAULT_TTR_BUDGET_MS;
}

export function scoreOf(verdict: Verdict, timeToRecoverMs?: number, summary?: Summary): Score {
  let held = 0;
  let judged = 0;
  for (const r of verdict.rows) {
    if (r.outcome === undefined || r.outcome === 'INCONCLUSIVE') continue;
    const w = r.phase === 'fault' ? WEIGHTS.faultRow : WEIGHTS.row;
    judged += w;
    if (r.outcome === 'PASS') held += w;
  }
  for (const c of verdict.checks) {
    const w = c.name.startsWith('invariant:') ? WEIGHTS.invariant : WEIGHTS.check;
    judged += w;
    if (c.pass) held += w;
  }
  const recovery =
    timeToRecoverMs === undefined
      ? 1
      : 1 - RECOVERY_PENALTY * Math.min(1, timeToRecoverMs / ttrBudget(summary));
  const share = judged === 0 ? 0 : held / judged;
  return { score: Math.round(100 * share * recovery), held, judged, recovery };
}

/** Degraded answers over all answers of the drill's traffic, and how many answers. */
export function degradedShareOf(verdict: Verdict): { share: number; requests: number } {
  const requests = verdict.rows.reduce((n, r) => n + r.requests, 0);
  const degraded = verdict.rows.reduce((n, r) => n + r.degraded, 0);
  return { share: requests === 0 ? 0 : Math.min(1, degraded / requests), requests };
}

export function historyFile(reportsDir: string): string {
  return path.join(reportsDir, HISTORY_FILE);
}

export function appendHistory(reportsDir: string, entry: HistoryEntry): void {
  mkdirSync(reportsDir, { recursive: true });
  appendFileSync(historyFile(reportsDir), `${JSON.stringify(entrySchema.parse(entry))}\n`);
}

export interface History {
  entries: HistoryEntry[];
  /** One line per line that could not be read: `history.jsonl line 7: not JSON (…); skipped`. */
  problems: string[];
}

/** Every readable entry of the history file (none when there is no file); bad lines are named, not fatal. */
export function readHistory(reportsDir: string): History {
  const file = historyFile(reportsDir);
  if (!existsSync(file)) return { entries: [], problems: [] };
  const entries: HistoryEntry[] = [];
  const problems: string[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file} line ${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: not JSON (${(err as Error).message}); skipped`);
      return;
    }
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`${where}: ${issue?.path.join('.') || 'entry'}: ${issue?.message ?? 'invalid'}; skipped`);
      return;
    }
    entries.push(parsed.data);
  });
  return { entries, problems };
}

/** The last `n` runs of `drill`, oldest first. */
export function lastRuns(entries: readonly HistoryEntry[], drill: string, n: number): HistoryEntry[] {
  return entries
    .filter((e) => e.drill === drill)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
    .slice(-n);
}

/**
 * The latest run's score against the mean of the runs of the same form
 * (short or full: their traffic differs) before it: `↑ +6`, `↓ −12`, `= 0`,
 * or `—` without an earlier run to compare with.
 */
export function trendOf(runs: readonly HistoryEntry[]): string {
  const latest = runs.at(-1);
  if (!latest) return '—';
  const before = runs.slice(0, -1).filter((r) => r.short === latest.short);
  if (before.length === 0) return '—';
  const mean = before.reduce((s, r) => s + r.score, 0) / before.length;
  const delta = Math.round(latest.score - mean);
  const arrow = delta > 0 ? '↑' : delta < 0 ? '↓' : '=';
  return `${arrow} ${delta > 0 ? '+' : delta < 0 ? '−' : ''}${Math.abs(delta)} vs the mean of ${before.length} earlier ${latest.short ? 'short' : 'full'} run${before.length === 1 ? '' : 's'}`;
}

const fmtTtr = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** `npm run drill -- history`: a table per drill (its last `n` runs) and its trend. */
export function formatHistory(entries: readonly HistoryEntry[], n = 10, drills?: readonly string[]): string {
  const names = drills?.length ? [...drills] : [...new Set(entries.map((e) => e.drill))].sort();
  if (names.length === 0) return 'no drill runs recorded yet (every `npm run drill -- <name>` adds one)';
  const out: string[] = [];
  for (const drill of names) {
    const runs = lastRuns(entries, drill, n);
    out.push(`${drill}: ${runs.length === 0 ? 'no runs recorded' : `trend ${trendOf(runs)}`}`);
    if (runs.length === 0) {
      out.push('');
      continue;
    }
    const head = ['time', 'form', 'verdict', 'score', 'held/judged', 'time to recover', 'degraded'];
    const rows = runs.map((r) => [
      r.time.replace(/\.\d+Z$/, 'Z'),
      r.short ? 'short' : 'full',
      r.verdict,
      String(r.score),
      `${r.held}/${r.judged}`,
      fmtTtr(r.timeToRecoverMs),
      `${(r.degradedShare * 100).toFixed(1)} %`,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const fmt = (l: string[]) =>
      l
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    out.push(fmt(head), ...rows.map(fmt), '');
  }
  return out.join('\n').trimEnd();
}

export function historyEntry(input: {
  drill: string;
  time: Date;
  testId: string;
  verdict: Verdict;
  short: boolean;
  timeToRecoverMs?: number;
  summary?: Summary;
  report?: string;
}): HistoryEntry {
  const s = scoreOf(input.verdict, input.timeToRecoverMs, input.summary);
  const d = degradedShareOf(input.verdict);
  const verdict: Outcome = input.verdict.outcome;
  return {
    drill: input.drill,
    time: input.time.toISOString(),
    testId: input.testId,
    verdict,
    short: input.short,
    score: s.score,
    held: s.held,
    judged: s.judged,
    ...(input.timeToRecoverMs !== undefined ? { timeToRecoverMs: input.timeToRecoverMs } : {}),
    degradedShare: Math.round(d.share * 10_000) / 10_000,
    requests: d.requests,
    ...(input.report ? { report: input.report } : {}),
  };
}
