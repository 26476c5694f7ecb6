/**
 * The payments service's configuration, read once from the environment and
 * validated (the message names the variable), then frozen. The common and
 * event-worker variables come from `@breakwater/mesh/env`.
 */
import { envPostgresUrl, envRedisUrl, eventService, parseEnv } from '@breakwater/mesh/env';
import { z } from 'zod';

/** The service's SQL migrations (node-pg-migrate), run by main.ts, migrate.ts and tests. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

const common = eventService({
  prefix: 'PAYMENTS',
  service: 'payments',
  port: 8083,
  maxAttempts: 10,
  relay: true,
});

export const PaymentsEnv = z.object({
  ...common.shape,
  DATABASE_URL: envPostgresUrl,
  REDIS_URL: envRedisUrl,
  /** Simulated processor: mean latency of a charge, ms (uniform 0.5×–1.5×). */
  PAYMENTS_PROCESSOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(20),
  /** Simulated processor: share of charges failing transiently (retried), 0–1. */
  PAYMENTS_PROCESSOR_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Deterministic decline: orders above this amount, cents. */
  PAYMENTS_DECLINE_OVER_CENTS: z.coerce.number().int().min(0).default(1_000_000),
  /** Deterministic decline: customer ids containing this marker (case-insensitive). */
  PAYMENTS_DECLINE_MARKER: z.string().min(1).max(100).default('decline'),
});

export type PaymentsConfig = ReturnType<typeof common.config> & {
  readonly processor: {
    readonly latencyMs: number;
    readonly failureRate: number;
    readonly declineOverCents: number;
    readonly declineMarker: string;
  };
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  const e = parseEnv(PaymentsEnv, env);
  return Object.freeze({
    ...common.config(e),
    processor: Object.freeze({
      latencyMs: e.PAYMENTS_PROCESSOR_LATENCY_MS,
      failureRate: e.PAYMENTS_PROCESSOR_FAILURE_RATE,
      declineOverCents: e.PAYMENTS_DECLINE_OVER_CENTS,
      declineMarker: e.PAYMENTS_DECLINE_MARKER,
    }),
  });
}
