/**
 * buildApp(config, deps) → the orders service app (mesh server kit + order
 * routes + the outbox relay and payment-results consumer, started by
 * `startWorkers()` and stopped on shutdown).
 */
import openapi from '@breakwater/contracts/openapi/orders.json' with { type: 'json' };
import { closeStoresOnShutdown, eventWorkerSettings, type ServiceDeps } from '@breakwater/events';
import { createServiceAppFor, type ServiceApp } from '@breakwater/mesh/server';
import { CatalogClient } from './clients/catalog-client.ts';
import type { OrdersConfig } from './config.ts';
import { createOrderWorkers, type OrderWorkers } from './events/workers.ts';
import { mountOrderRoutes } from './routes/orders.ts';
import { OrdersStore } from './store/orders-store.ts';

export interface OrdersDeps extends ServiceDeps {
  catalog?: CatalogClient;
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
    ...eventWorkerSettings(config),
  });
  mountOrderRoutes(kit.router, { store, catalog, onPlaced: () => workers.relay.nudge() });

  // Orders cannot be taken without PostgreSQL; Redis being down only delays events.
  // Closers run in reverse: workers stop first, then the connections they use.
  closeStoresOnShutdown(kit, deps, { ready: 'postgres' });
  kit.addCloser('catalog', () => catalog.close());
  kit.addCloser('workers', () => workers.stop());
  return Object.assign(kit, { workers });
}
