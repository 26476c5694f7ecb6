/**
 * The tuning tool's report: one row per consumer, as a table for people and
 * JSON for tools. Pure (no k6 imports), fed the data k6 hands handleSummary.
 */

import { type LimitPolicy, limitPerSecond } from '../lib/ratelimit-headers.ts';
import type { RateLimitConfig } from './config.ts';

interface MetricData {
  readonly values: Record<string, number>;
  readonly thresholds?: Record<string, { readonly ok: boolean }>;
}

export interface SummaryData {
  readonly metrics: Record<string, MetricData | undefined>;
  readonly setup_data?: { readonly announced?: Record<string, LimitPolicy[]> };
}

export interface ConsumerRow {
  readonly consumer: string;
  readonly offeredPerS: number;
  /** The limit the verdict used: from the config, or announced by the server (null: none known). */
  readonly limitPerS: number | null;
  readonly limitSource: 'config' | 'header' | 'none';
  /** Lowest and highest limit in force during the run (differ after a live change); null when none known. */
  readonly limitRangePerS: readonly [number, number] | null;
  readonly requests: number;
  readonly admittedPerS: number;
  readonly rejectedShare: number;
  readonly failureShare: number;
  readonly latencyMs: { readonly med: number; readonly p95: number; readonly p99: number };
  readonly ratio: number;
  readonly band: readonly [number, number];
  readonly pass: boolean;
}

export interface Report {
  readonly text: string;
  readonly json: {
    readonly durationS: number;
    readonly tolerance: number;
    readonly consumers: ConsumerRow[];
  };
}

export function summarize(
  data: SummaryData,
  config: RateLimitConfig,
  band: (windowMs: number) => [number, number],
): Report {
  const seconds = config.durationMs / 1_000;
  const rows: ConsumerRow[] = config.consumers.map((c) => {
    const m = (name: string) => data.metrics[`${name}{consumer:${c.name}}`];
    const admitted = m('rl_admitted');
    const requests = (admitted?.values.passes ?? 0) + (admitted?.values.fails ?? 0);
    const announced = data.setup_data?.announced?.[c.name] ?? [];
    const headerLimit = limitPerSecond(announced, seconds);
    const configLimit = c.limit === undefined ? undefined : c.limit / (c.windowMs / 1_000);
    const duration = m('http_req_duration')?.values ?? {};
    const seen = m('rl_limit_per_s');
    const thresholdsOk = Object.entries(data.metrics)
      .filter(([name]) => name.endsWith(`{consumer:${c.name}}`))
      .every(([, metric]) => Object.values(metric?.thresholds ?? {}).every((t) => t.ok));
    return {
      consumer: c.name,
      offeredPerS: c.rate,
      limitPerS: configLimit ?? headerLimit ?? null,
      limitSource: configLimit !== undefined ? 'config' : headerLimit !== undefined ? 'header' : 'none',
      limitRangePerS:
        seen?.values.min === undefined ? null : [seen.values.min, seen.values.max ?? seen.values.min],
      requests,
      admittedPerS: (admitted?.values.passes ?? 0) / seconds,
      rejectedShare: m('rl_rejected')?.values.rate ?? 0,
      failureShare: m('failures')?.values.rate ?? 0,
      latencyMs: { med: duration.med ?? 0, p95: duration['p(95)'] ?? 0, p99: duration['p(99)'] ?? 0 },
      ratio: m('rl_limit_ratio')?.values.count ?? 0,
      band: band(c.windowMs),
      pass: thresholdsOk,
    };
  });
  return {
    text: table(rows, config),
    json: { durationS: seconds, tolerance: config.tolerance, consumers: rows },
  };
}

function limitCell(r: ConsumerRow): string {
  if (r.limitPerS === null) return '-';
  const range = r.limitRangePerS;
  if (range !== null && range[0] !== range[1])
    return `${range[0].toFixed(1)}–${range[1].toFixed(1)} (changed)`;
  return `${(range?.[0] ?? r.limitPerS).toFixed(1)} (${r.limitSource})`;
}

function table(rows: readonly ConsumerRow[], config: RateLimitConfig): string {
  const header = [
    'consumer',
    'offered/s',
    'limit/s',
    'admitted/s',
    '429 %',
    'fail %',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'ratio',
    'band',
    'verdict',
  ];
  const body = rows.map((r) => [
    r.consumer,
    r.offeredPerS.toFixed(1),
    limitCell(r),
    r.admittedPerS.toFixed(1),
    (r.rejectedShare * 100).toFixed(1),
    (r.failureShare * 100).toFixed(1),
    r.latencyMs.med.toFixed(1),
    r.latencyMs.p95.toFixed(1),
    r.latencyMs.p99.toFixed(1),
    r.ratio.toFixed(3),
    `${r.band[0].toFixed(2)}–${r.band[1].toFixed(2)}`,
    r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  return [
    '',
    `rate limits on ${config.path} over ${config.durationMs / 1_000}s (tolerance ±${config.tolerance * 100}% + window/duration)`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    'ratio = admitted / min(offered, limit) over the run; PASS when within band and every threshold held.',
    '',
  ].join('\n');
}
