/**
 * buildApp(config, deps) → the payments service app (mesh server kit + the
 * payment read API + the order.placed consumer and outbox relay, started by
 * `workers.start()` and stopped on shutdown).
 */
import openapi from '@breakwater/contracts/openapi/payments.json' with { type: 'json' };
import { createServiceApp, type ServiceApp, type ServiceAppOptions } from '@breakwater/mesh/server';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { SimulatedProcessor } from './clients/processor.ts';
import type { PaymentsConfig } from './config.ts';
import { createPaymentWorkers, type PaymentWorkers } from './events/workers.ts';
import { mountPaymentRoutes } from './routes/payments.ts';
import { PaymentsStore } from './store/payments-store.ts';

export interface PaymentsDeps {
  pool: pg.Pool;
  redis: Redis;
  processor?: SimulatedProcessor;
  server?: Partial<Pick<ServiceAppOptions, 'signals' | 'drainDelayMs' | 'logger' | 'accessLog'>>;
}

export interface PaymentsApp extends ServiceApp {
  workers: PaymentWorkers;
  processor: SimulatedProcessor;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: PaymentsConfig, deps: PaymentsDeps): PaymentsApp {
  const kit = createServiceApp({
    service: config.service,
    bodyLimit: '16kb',
    ...(config.adminPort !== undefined && config.adminToken !== undefined
      ? { admin: { port: config.adminPort, token: config.adminToken } }
      : {}),
    ...deps.server,
  });
  const store = new PaymentsStore(deps.pool);
  const processor = deps.processor ?? new SimulatedProcessor(config.processor, deps.pool);
  const workers = createPaymentWorkers({
    pool: deps.pool,
    redis: deps.redis,
    store,
    processor,
    log: kit.logger,
    claimIdleMs: config.claimIdleMs,
    maxAttempts: config.maxAttempts,
    relayPollMs: config.relayPollMs,
    consumerName: config.consumerName,
    concurrency: config.concurrency,
  });
  kit.router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });
  mountPaymentRoutes(kit.router, { store });
  kit.addReadinessCheck('postgres', () => deps.pool.query('SELECT 1'));
  kit.addCloser('postgres', () => deps.pool.end());
  kit.addCloser('redis', () => deps.redis.quit().catch(() => deps.redis.disconnect()));
  kit.addCloser('workers', () => workers.stop());
  return Object.assign(kit, { workers, processor });
}
