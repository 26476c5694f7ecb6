/**
 * The payments service's configuration, read once from the environment and
 * validated (the message names the variable), then frozen.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const PaymentsEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8083),
  BW_SERVICE: z.string().min(1).default('payments'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
  BW_ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BW_ADMIN_TOKEN: z.string().min(16).optional(),
  PAYMENTS_MIGRATE_ON_START: bool.default(true),
  /** Simulated processor: mean latency of a charge, ms (uniform 0.5×–1.5×). */
  PAYMENTS_PROCESSOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(20),
  /** Simulated processor: share of charges failing transiently (retried), 0–1. */
  PAYMENTS_PROCESSOR_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Deterministic decline: orders above this amount, cents. */
  PAYMENTS_DECLINE_OVER_CENTS: z.coerce.number().int().min(0).default(1_000_000),
  /** Deterministic decline: customer ids containing this marker (case-insensitive). */
  PAYMENTS_DECLINE_MARKER: z.string().min(1).max(100).default('decline'),
  PAYMENTS_CLAIM_IDLE_MS: z.coerce.number().int().min(1).default(10_000),
  PAYMENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  PAYMENTS_RELAY_POLL_MS: z.coerce.number().int().min(5).default(100),
  /** Events handled at once by this process's consumer. */
  PAYMENTS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  PAYMENTS_CONSUMER_NAME: z.string().min(1).max(200).optional(),
});

export interface PaymentsConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly migrateOnStart: boolean;
  readonly processor: {
    readonly latencyMs: number;
    readonly failureRate: number;
    readonly declineOverCents: number;
    readonly declineMarker: string;
  };
  readonly claimIdleMs: number;
  readonly maxAttempts: number;
  readonly relayPollMs: number;
  readonly consumerName: string | undefined;
  readonly concurrency: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  const r = PaymentsEnv.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${msg}`);
  }
  const e = r.data;
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    service: e.BW_SERVICE,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    migrateOnStart: e.PAYMENTS_MIGRATE_ON_START,
    processor: Object.freeze({
      latencyMs: e.PAYMENTS_PROCESSOR_LATENCY_MS,
      failureRate: e.PAYMENTS_PROCESSOR_FAILURE_RATE,
      declineOverCents: e.PAYMENTS_DECLINE_OVER_CENTS,
      declineMarker: e.PAYMENTS_DECLINE_MARKER,
    }),
    claimIdleMs: e.PAYMENTS_CLAIM_IDLE_MS,
    maxAttempts: e.PAYMENTS_MAX_ATTEMPTS,
    relayPollMs: e.PAYMENTS_RELAY_POLL_MS,
    consumerName: e.PAYMENTS_CONSUMER_NAME,
    concurrency: e.PAYMENTS_CONCURRENCY,
  });
}
