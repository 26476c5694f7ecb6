import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appendHistory,
  formatHistory,
  type HistoryEntry,
  historyEntry,
  historyFile,
  readHistory,
  scoreOf,
  trendOf,
} from './history.ts';
import { type Verdict, withOutcome } from './verdict.ts';

const verdict = (faultHeld: boolean, invariantHeld = true): Verdict =>
  withOutcome({
    rows: [
      {
        phase: 'steady',
        route: 'catalog_list',
        requests: 100,
        degraded: 0,
        thresholds: ['x'],
        pass: true,
        outcome: 'PASS',
      },
      {
        phase: 'fault',
        route: 'catalog_list',
        requests: 100,
        degraded: 40,
        thresholds: ['x'],
        pass: faultHeld,
        outcome: faultHeld ? 'PASS' : 'FAIL',
      },
      {
        phase: 'fault',
        route: 'orders_create',
        requests: 20,
        degraded: 0,
        thresholds: ['x'],
        pass: false,
        outcome: 'INCONCLUSIVE',
      },
      { phase: 'grace', route: 'catalog_list', requests: 5, degraded: 0, thresholds: [], pass: true },
    ],
    checks: [
      { name: 'time_to_recover', value: '1.0 s', threshold: 'max<15000', pass: true },
      { name: 'invariant: none charged twice', value: '', threshold: 'holds', pass: invariantHeld },
    ],
    pass: false,
    outcome: 'FAIL',
  });

const summary = { metrics: { time_to_recover: { max: 3000, thresholds: { 'max<15000': false } } } };

describe('scoreOf', () => {
  it('weights fault rows 2, invariants 3, the rest 1, leaves INCONCLUSIVE rows out', () => {
    expect(scoreOf(verdict(true))).toMatchObject({ score: 100, held: 7, judged: 7 });
    expect(scoreOf(verdict(false))).toMatchObject({ score: 71, held: 5, judged: 7 });
    expect(scoreOf(verdict(true, false))).toMatchObject({ score: 57, held: 4, judged: 7 });
  });

  it('takes up to 20 points for time to recover, against the drill budget', () => {
    expect(scoreOf(verdict(true), 3000, summary).score).toBe(96); // 1 − 0.2 × 3/15
    expect(scoreOf(verdict(true), 60_000, summary).score).toBe(80); // capped at the budget
  });
});

describe('the history file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const entry = (score: number, minute: number, short = true): HistoryEntry => ({
    ...historyEntry({
      drill: 'catalog-latency',
      time: new Date(Date.UTC(2026, 11, 7, 12, minute)),
      testId: `t${minute}`,
      verdict: verdict(true),
      short,
    }),
    score,
  });

  it('appends runs and reads them back; a corrupt line is named and skipped', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bw-history-'));
    appendHistory(dir, entry(90, 1));
    appendFileSync(historyFile(dir), '{"drill": "catalog-latency", "time": \n');
    appendFileSync(
      historyFile(dir),
      '{"drill":"catalog-latency","time":"2026-12-07T12:03:00Z","score":"high"}\n',
    );
    appendHistory(dir, entry(80, 4));
    const { entries, problems } = readHistory(dir);
    expect(entries.map((e) => e.score)).toEqual([90, 80]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/history\.jsonl line 2: not JSON \(.+\); skipped$/);
    expect(problems[1]).toMatch(/history\.jsonl line 3: (testId|verdict|short|score)\b.*; skipped$/);
  });

  it('reads no file as no runs', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bw-history-'));
    expect(readHistory(dir)).toEqual({ entries: [], problems: [] });
  });

  it('trend compares the latest run with the earlier runs of the same form', () => {
    expect(trendOf([entry(90, 1), entry(70, 2, false), entry(80, 3), entry(100, 4)])).toBe(
      '↑ +15 vs the mean of 2 earlier short runs',
    );
    expect(trendOf([entry(90, 1), entry(78, 2)])).toBe('↓ −12 vs the mean of 1 earlier short run');
    expect(trendOf([entry(90, 1)])).toBe('—');
  });

  it('prints a table per drill with its trend', () => {
    const table = formatHistory([entry(90, 1), entry(80, 2)]);
    expect(table).toMatch(/^catalog-latency: trend ↓ −10/);
    expect(table).toMatch(/2026-12-07T12:01:00Z\s+short\s+INCONCLUSIVE\s+90\s+7\/7/);
    expect(formatHistory([])).toMatch(/no drill runs recorded yet/);
  });
});
