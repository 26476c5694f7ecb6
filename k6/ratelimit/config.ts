/**
 * The tuning tool's configuration: who to drive, how fast, against which
 * route, and how close the admitted rate must come to the limit.
 *
 * From `RL_CONFIG` (a JSON file; a relative path is resolved from this
 * directory, k6/ratelimit/) or `RL_CONSUMERS` (the `consumers` object inline,
 * as JSON). Any string value starting with `$` is read from the environment
 * (`"apiKey": "$BW_DEV_KEY"`), so secrets stay out of the file. Top-level
 * fields can be overridden with `RL_PATH`, `RL_DURATION`, `RL_TOLERANCE`,
 * `RL_WINDOW`, `RL_P95_MS`.
 */

import { env } from '../lib/config.ts';
import { parseDuration } from '../lib/duration.ts';

export interface ConsumerConfig {
  readonly name: string;
  readonly apiKey?: string;
  readonly jwt?: string;
  /** Offered rate, requests per second. */
  readonly rate: number;
  /** Configured quota per window, if known here; otherwise read from the response headers. */
  readonly limit?: number;
  /** The limit's window, ms (default: the top-level window). */
  readonly windowMs: number;
}

export interface RateLimitConfig {
  readonly path: string;
  readonly route: string;
  readonly durationMs: number;
  /** Accepted relative deviation of admitted rate from the limit (0.1 = ±10 %). */
  readonly tolerance: number;
  readonly p95Ms: number;
  readonly consumers: readonly ConsumerConfig[];
}

interface RawConsumer {
  apiKey?: string;
  jwt?: string;
  rate?: number | string;
  limit?: number | string;
  window?: string;
}

interface RawConfig {
  path?: string;
  route?: string;
  duration?: string;
  tolerance?: number | string;
  window?: string;
  p95Ms?: number | string;
  consumers?: Record<string, RawConsumer>;
}

function fromEnvRef(value: string | undefined, field: string): string | undefined {
  if (value === undefined || !value.startsWith('$')) return value;
  const resolved = env(value.slice(1));
  if (resolved === undefined) throw new Error(`${field}: environment variable ${value.slice(1)} is not set`);
  return resolved;
}

function positive(value: number | string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${field}: ${value} is not a positive number`);
  return n;
}

/** Without RL_CONFIG / RL_CONSUMERS: one consumer, `API_KEY` / `JWT` from the environment, 20 req/s. */
function defaultConsumers(): Record<string, RawConsumer> {
  return { dev: { apiKey: env('API_KEY'), jwt: env('JWT'), rate: env('RL_RATE') ?? 20 } };
}

export function loadConfig(readFile: (path: string) => string): RateLimitConfig {
  const file = env('RL_CONFIG');
  const raw: RawConfig = file === undefined ? {} : (JSON.parse(readFile(file)) as RawConfig);
  const inline = env('RL_CONSUMERS');
  const consumersRaw: Record<string, RawConsumer> =
    inline !== undefined
      ? (JSON.parse(inline) as Record<string, RawConsumer>)
      : (raw.consumers ?? defaultConsumers());

  const windowMs = parseDuration(env('RL_WINDOW') ?? raw.window ?? '1s', 'window');
  const consumers: ConsumerConfig[] = Object.entries(consumersRaw).map(([name, c]) => {
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new Error(`consumer "${name}": use letters, digits, - and _ only`);
    const rate = positive(c.rate, `consumers.${name}.rate`);
    if (rate === undefined) throw new Error(`consumers.${name}.rate is required (requests per second)`);
    return {
      name,
      apiKey: fromEnvRef(c.apiKey, `consumers.${name}.apiKey`),
      jwt: fromEnvRef(c.jwt, `consumers.${name}.jwt`),
      rate,
      limit: positive(c.limit, `consumers.${name}.limit`),
      windowMs: c.window === undefined ? windowMs : parseDuration(c.window, `consumers.${name}.window`),
    };
  });
  if (consumers.length === 0) throw new Error('no consumers configured (RL_CONFIG or RL_CONSUMERS)');

  return {
    path: env('RL_PATH') ?? raw.path ?? '/api/catalog/products?limit=1',
    route: raw.route ?? 'catalog_list',
    durationMs: parseDuration(env('RL_DURATION') ?? raw.duration ?? '30s', 'duration'),
    tolerance: positive(env('RL_TOLERANCE') ?? raw.tolerance, 'tolerance') ?? 0.1,
    p95Ms: positive(env('RL_P95_MS') ?? raw.p95Ms, 'p95Ms') ?? 500,
    consumers,
  };
}
