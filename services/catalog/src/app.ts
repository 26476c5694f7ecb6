/**
 * buildApp(config, deps) → the catalog's service app (the mesh server kit:
 * health, readiness, metrics, request ids, problem+json, fault filter) with
 * the catalog's routes. Connections are opened by main.ts (or a test) and
 * handed in; the kit closes them on shutdown.
 */
import openapi from '@breakwater/contracts/openapi/catalog.json' with { type: 'json' };
import { closeStoresOnShutdown, type ServiceDeps } from '@breakwater/events';
import { createServiceAppFor, type ServiceApp } from '@breakwater/mesh/server';
import { counter } from '@breakwater/observability/metrics';
import type { CatalogConfig } from './config.ts';
import { mountProductRoutes } from './routes/products.ts';
import { mountReservationRoutes } from './routes/reservations.ts';
import { ProductCache } from './store/product-cache.ts';
import { ProductsStore } from './store/products-store.ts';
import { SourceBreaker } from './store/source-breaker.ts';

/** The pool and, for the cache, a fail-fast Redis client (short command timeout, no offline queue). */
export type CatalogDeps = ServiceDeps;

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

/** Retry-After on 503s, s. */
const RETRY_AFTER_READS_S = 5;
const RETRY_AFTER_WRITES_S = 2;

const cacheRequests = () => counter('cacheRequests');
export function buildApp(config: CatalogConfig, deps: CatalogDeps): ServiceApp {
  const kit = createServiceAppFor(config, { bodyLimit: '16kb', openapi: OPENAPI, ...deps.server });
  const store = new ProductsStore(deps.pool);
  const cache = new ProductCache(deps.redis, {
    freshTtlMs: config.cacheTtlMs,
    staleTtlMs: config.staleTtlMs,
  });
  const r = kit.router;
  // The breaker reports its state itself (bw_breaker_state{upstream="postgres"}), like the mesh client's.
  const breaker = new SourceBreaker({ openMs: config.pgBreakerOpenMs });
  kit.addCloser('postgres-breaker', () => breaker.close());
  mountProductRoutes(r, {
    store,
    cache,
    breaker,
    retryAfterSec: RETRY_AFTER_READS_S,
    onCacheResult: (result) => cacheRequests().inc({ cache: 'products', result }),
  });
  mountReservationRoutes(r, { store, cache, retryAfterSec: RETRY_AFTER_WRITES_S });

  // Ready while either store can answer: with PostgreSQL down the catalog
  // still serves (stale) reads, so taking it out of rotation would only hurt.
  kit.addReadinessCheck('postgres-or-redis', async () => {
    const pgOk = deps.pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const redisOk = deps.redis.ping().then(
      () => true,
      () => false,
    );
    const [p, rd] = await Promise.all([pgOk, redisOk]);
    if (!p && !rd) throw new Error('neither postgres nor redis reachable');
    return true;
  });
  closeStoresOnShutdown(kit, deps);
  return kit;
}
