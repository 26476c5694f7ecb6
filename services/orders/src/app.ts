/**
 * buildApp(config, deps) → the orders service app (mesh server kit + order
 * routes + the outbox relay and payment-results consumer, started by
 * `startWorkers()` and stopped on shutdown).
 */
import openapi from '@breakwater/contracts/openapi/orders.json' with { type: 'json' };
import { closeStoresOnShutdown } from '@breakwater/events';
import { createServiceAppFor, type ServerOverrides, type ServiceApp } from '@breakwater/mesh/server';
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
  /** Server-kit overrides (tests: `signals: []`, `drainDelayMs: 0`). */
  server?: ServerOverrides;
}

export interface OrdersApp extends ServiceApp {
  workers: OrderWorkers;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: OrdersConfig, deps: OrdersDeps): OrdersApp {
  const kit = createServiceAppFor(config, { bodyLimit: '16kb', openapi: OPENAPI, ...deps.server });
  const store = new OrdersStore(deps.pool);
  const catalog = deps.catalog ?? new CatalogClient(config.catalogUrl);
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
  mountOrderRoutes(kit.router, { store, catalog, onPlaced: () => workers.relay.nudge() });

  // Orders cannot be taken without PostgreSQL; Redis being down only delays events.
  // Closers run in reverse: workers stop first, then the connections they use.
  closeStoresOnShutdown(kit, deps, { ready: 'postgres' });
  kit.addCloser('catalog', () => catalog.close());
  kit.addCloser('workers', () => workers.stop());
  return Object.assign(kit, { workers });
}
