/**
 * buildApp(config, deps) → the orders service app (mesh server kit + order
 * routes + the outbox relay and payment-results consumer, started by
 * `startWorkers()` and stopped on shutdown).
 */
import openapi from '@breakwater/contracts/openapi/orders.json' with { type: 'json' };
import { createServiceApp, type ServiceApp, type ServiceAppOptions } from '@breakwater/mesh/server';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { CatalogClient } from './clients/catalog-client.ts';
import type { OrdersConfig } from './config.ts';
import { createOrderWorkers, type OrderWorkers } from './events/workers.ts';
import { mountOrderRoutes } from './routes/orders.ts';
import { OrdersStore } from './store/orders-store.ts';

export interface OrdersDeps {
  pool: pg.Pool;
  /** Fail-fast Redis client for the relay and the consumer. */
  redis: Redis;
  catalog?: CatalogClient;
  server?: Partial<Pick<ServiceAppOptions, 'signals' | 'drainDelayMs' | 'logger' | 'accessLog'>>;
}

export interface OrdersApp extends ServiceApp {
  workers: OrderWorkers;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: OrdersConfig, deps: OrdersDeps): OrdersApp {
  const kit = createServiceApp({
    service: config.service,
    bodyLimit: '16kb',
    ...(config.adminPort !== undefined && config.adminToken !== undefined
      ? { admin: { port: config.adminPort, token: config.adminToken } }
      : {}),
    ...deps.server,
  });
  const store = new OrdersStore(deps.pool);
  const catalog =
    deps.catalog ?? new CatalogClient(config.catalogUrl, undefined, config.catalogEndpointsFile);
  const workers = createOrderWorkers({
    pool: deps.pool,
    redis: deps.redis,
    store,
    catalog,
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
  mountOrderRoutes(kit.router, { store, catalog, onPlaced: () => workers.relay.nudge() });

  // Orders cannot be taken without PostgreSQL; Redis being down only delays events.
  kit.addReadinessCheck('postgres', () => deps.pool.query('SELECT 1'));
  // Closers run in reverse: workers stop first, then the connections they use.
  kit.addCloser('postgres', () => deps.pool.end());
  kit.addCloser('redis', () => deps.redis.quit().catch(() => deps.redis.disconnect()));
  kit.addCloser('catalog', () => catalog.close());
  kit.addCloser('workers', () => workers.stop());
  return Object.assign(kit, { workers });
}
