/**
 * Where the scripts point and who they are, read once from the environment
 * (`k6 run -e NAME=value` or the process environment).
 *
 * | variable        | default                 | meaning                                        |
 * |-----------------|-------------------------|------------------------------------------------|
 * | `BASE_URL`      | `http://127.0.0.1:8080` | the gateway (or any host speaking the contract) |
 * | `API_KEY`       | —                       | sent as the `apikey` header                     |
 * | `JWT`           | —                       | sent as `Authorization: Bearer <JWT>`           |
 *
 * With neither `API_KEY` nor `JWT` requests go out unauthenticated (a gateway
 * then answers 401, which counts as a failure).
 */

import { parseDuration } from './duration.ts';

export function env(name: string): string | undefined {
  const value = __ENV[name];
  return value === undefined || value === '' ? undefined : value;
}

export function envNumber(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}: "${raw}" is not a number`);
  return value;
}

/** A duration in milliseconds from `name` (k6 syntax: 30s, 2m, 500ms). */
export function envDurationMs(name: string, fallback: string): number {
  return parseDuration(env(name) ?? fallback, name);
}

export function baseUrl(): string {
  return (env('BASE_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** How one consumer authenticates to the gateway. */
export interface Credentials {
  readonly apiKey?: string;
  readonly jwt?: string;
}

export function defaultCredentials(): Credentials {
  return { apiKey: env('API_KEY'), jwt: env('JWT') };
}

export function authHeaders(credentials: Credentials): Record<string, string> {
  const headers: Record<string, string> = {};
  if (credentials.apiKey !== undefined) headers.apikey = credentials.apiKey;
  if (credentials.jwt !== undefined) headers.Authorization = `Bearer ${credentials.jwt}`;
  return headers;
}
