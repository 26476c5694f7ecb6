/**
 * buildApp(config, deps) → the catalog's service app (the mesh server kit:
 * health, readiness, metrics, request ids, problem+json, fault filter) with
 * the catalog's routes. Connections are opened by main.ts (or a test) and
 * handed in; the kit closes them on shutdown.
 */
import openapi from '@breakwater/contracts/openapi/catalog.json' with { type: 'json' };
import { createServiceApp, type ServiceApp, type ServiceAppOptions } from '@breakwater/mesh/server';
import { counter, gauge } from '@breakwater/observability/metrics';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { CatalogConfig } from './config.ts';
import { mountProductRoutes } from './routes/products.ts';
import { mountReservationRoutes } from './routes/reservations.ts';
import { ProductCache } from './store/product-cache.ts';
import { ProductsStore } from './store/products-store.ts';
import { SourceBreaker } from './store/source-breaker.ts';

export interface CatalogDeps {
  pool: pg.Pool;
  /** Fail-fast client for the cache (short command timeout, no offline queue). */
  redis: Redis;
  /** Server-kit overrides (tests: `signals: []`, `drainDelayMs: 0`). */
  server?: Partial<Pick<ServiceAppOptions, 'signals' | 'drainDelayMs' | 'logger' | 'accessLog'>>;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

/** Retry-After on 503s, s. */
const RETRY_AFTER_READS_S = 5;
const RETRY_AFTER_WRITES_S = 2;

const cacheRequests = () => counter('cacheRequests');
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export function buildApp(config: CatalogConfig, deps: CatalogDeps): ServiceApp {
  const kit = createServiceApp({
    service: config.service,
    bodyLimit: '16kb',
    ...(config.adminPort !== undefined && config.adminToken !== undefined
      ? { admin: { port: config.adminPort, token: config.adminToken } }
      : {}),
    ...deps.server,
  });
  const store = new ProductsStore(deps.pool);
  const cache = new ProductCache(deps.redis, {
    freshTtlMs: config.cacheTtlMs,
    staleTtlMs: config.staleTtlMs,
  });
  const r = kit.router;
  r.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });
  mountProductRoutes(r, {
    store,
    cache,
    breaker: new SourceBreaker({
      failures: 3,
      openMs: config.pgBreakerOpenMs,
      // Same metric as the mesh client's breakers: 0 closed, 1 half-open, 2 open.
      onState: (s) => gauge('breakerState').set({ upstream: 'postgres' }, BREAKER_VALUE[s]),
    }),
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
  kit.addCloser('postgres', () => deps.pool.end());
  kit.addCloser('redis', () => deps.redis.quit().catch(() => deps.redis.disconnect()));
  return kit;
}
