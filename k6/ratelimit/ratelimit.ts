/**
 * Rate-limit tuning tool: drives several consumers at chosen rates against one
 * route and reports, per consumer, the admitted rate, the share of 429s and
 * latency. The verdict (k6 exit code 99 when it fails) is that the admitted
 * rate matches what the limit allows:
 *
 *   expected admitted/s = min(offered rate, limit/s)
 *
 * where the limit is the consumer's `limit` from the config or, when not given
 * there, the tightest policy the server announces on each answer
 * (`RateLimit-Policy`, see ../lib/ratelimit-headers.ts). Each admitted answer
 * adds 1 / (expected/s × run seconds) to `rl_limit_ratio{consumer}`, so the
 * metric's count ends near 1.0 whatever the limit — also when the limit is
 * changed live mid-run, because each answer is weighed by the limit in force
 * when it was given. The threshold accepts
 *
 *   1 ± (tolerance + window / duration)
 *
 * the second term because a run of `duration` touches partial windows at both
 * ends (a fixed window admits a full quota in a partial one).
 *
 *   k6 run -e RL_CONFIG=consumers.example.json k6/ratelimit/ratelimit.ts
 *   k6 run -e RL_CONSUMERS='{"dev":{"apiKey":"…","rate":30}}' -e RL_DURATION=20s k6/ratelimit/ratelimit.ts
 *
 * The table goes to stdout, the same figures as JSON to RL_SUMMARY_JSON
 * (default reports/ratelimit-summary.json).
 */

import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { checkContract } from '../lib/checks.ts';
import { authHeaders, baseUrl, env } from '../lib/config.ts';
import { formatDuration } from '../lib/duration.ts';
import { installResponseCallback, record } from '../lib/outcome.ts';
import { type LimitPolicy, limitPerSecond, policiesFrom } from '../lib/ratelimit-headers.ts';
import { loadConfig } from './config.ts';
import { type SummaryData, summarize } from './summary.ts';

const config = loadConfig((path) => open(path));
installResponseCallback();

/** Admitted (2xx) among all answers, per consumer. */
const admitted = new Rate('rl_admitted');
/** 429 among all answers, per consumer. */
const rejected = new Rate('rl_rejected');
/** Sum of admitted answers weighed by 1 / (expected/s × run seconds): ends near 1.0 (see above). */
const limitRatio = new Counter('rl_limit_ratio');
/** The limit in force (req/s over this run) on each admitted answer: shows a live change as a min–max range. */
const limitSeen = new Trend('rl_limit_per_s');

function band(windowMs: number): [number, number] {
  const slack = config.tolerance + windowMs / config.durationMs;
  return [Math.max(0, 1 - slack), 1 + slack];
}

const scenarios: NonNullable<Options['scenarios']> = {};
const thresholds: Record<string, string[]> = { failures: ['rate<0.01'] };
for (const c of config.consumers) {
  scenarios[`rl_${c.name}`] = {
    executor: 'constant-arrival-rate',
    exec: 'drive',
    rate: c.rate,
    timeUnit: '1s',
    duration: formatDuration(config.durationMs),
    preAllocatedVUs: Math.max(2, Math.ceil(c.rate / 20)),
    maxVUs: Math.max(10, Math.ceil(c.rate)),
    tags: { consumer: c.name },
    env: { RL_CONSUMER: c.name },
  };
  const [low, high] = band(c.windowMs);
  thresholds[`rl_limit_ratio{consumer:${c.name}}`] = [
    `count>=${low.toFixed(3)}`,
    `count<=${high.toFixed(3)}`,
  ];
  thresholds[`rl_admitted{consumer:${c.name}}`] = ['rate>0']; // never shut out entirely
  thresholds[`rl_rejected{consumer:${c.name}}`] = ['rate<1'];
  thresholds[`failures{consumer:${c.name}}`] = ['rate<0.01'];
  thresholds[`http_req_duration{consumer:${c.name}}`] = [`p(95)<${config.p95Ms}`];
  thresholds[`rl_limit_per_s{consumer:${c.name}}`] = ['min>0']; // an announced limit is never 0
}

export const options: Options = {
  scenarios,
  thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max'],
};

export interface SetupData {
  /** Policies each consumer's first answer announced (before the run). */
  readonly announced: Record<string, LimitPolicy[]>;
}

const byName = new Map(config.consumers.map((c) => [c.name, c]));
const base = baseUrl();

/** One probe per consumer: what limit does the server say applies? */
export function setup(): SetupData {
  const announced: Record<string, LimitPolicy[]> = {};
  for (const c of config.consumers) {
    const res = http.get(`${base}${config.path}`, { headers: authHeaders(c), tags: { name: 'probe' } });
    announced[c.name] = policiesFrom(res.headers);
    const shown = announced[c.name]?.map((p) => `${p.quota}/${p.windowS}s`).join(', ') || 'none announced';
    console.log(`consumer ${c.name}: status ${res.status}, policy ${shown}`);
  }
  return { announced };
}

export function drive(data: SetupData): void {
  const name = env('RL_CONSUMER') ?? exec.scenario.name.replace(/^rl_/, '');
  const c = byName.get(name);
  if (c === undefined) throw new Error(`unknown consumer ${name}`);
  const tags = { consumer: c.name, route: config.route, name: config.route };
  const res = http.get(`${base}${config.path}`, { headers: authHeaders(c), tags });
  const metricTags = { consumer: c.name, route: config.route };
  record(res, metricTags);
  checkContract(res, metricTags);

  const ok = res.status >= 200 && res.status < 300;
  admitted.add(ok, metricTags);
  rejected.add(res.status === 429, metricTags);
  if (!ok) return;
  const configured = c.limit === undefined ? undefined : c.limit / (c.windowMs / 1_000);
  const runS = config.durationMs / 1_000;
  const perSecond =
    configured ??
    limitPerSecond(policiesFrom(res.headers), runS) ??
    limitPerSecond(data.announced[c.name] ?? [], runS);
  if (perSecond !== undefined) limitSeen.add(perSecond, metricTags);
  const expected = Math.min(c.rate, perSecond ?? c.rate);
  limitRatio.add(1 / (expected * runS), metricTags);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const report = summarize(data, config, band);
  const json = JSON.stringify(report.json, null, 2);
  return {
    stdout: report.text,
    [env('RL_SUMMARY_JSON') ?? 'reports/ratelimit-summary.json']: json,
  };
}
