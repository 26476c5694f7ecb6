/**
 * buildApp(config, deps) → the catalog's express app. No I/O happens here
 * beyond what the routes do per request; main.ts owns the connections.
 */
import { readFileSync } from 'node:fs';
import { renderProblem } from '@breakwater/mesh/problem';
import { counter } from '@breakwater/observability/metrics';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { CatalogConfig } from './config.ts';
import { CatalogError } from './errors.ts';
import { mountProductRoutes } from './routes/products.ts';
import { mountReservationRoutes } from './routes/reservations.ts';
import { ProductCache } from './store/product-cache.ts';
import { ProductsStore } from './store/products-store.ts';

export interface CatalogDeps {
  pool: pg.Pool;
  /** Fail-fast client for the cache (short command timeout, no offline queue). */
  redis: Redis;
}

export const OPENAPI = JSON.parse(
  readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

export function buildApp(config: CatalogConfig, deps: CatalogDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  const store = new ProductsStore(deps.pool);
  const cache = new ProductCache(deps.redis, {
    freshTtlMs: config.cacheTtlMs,
    staleTtlMs: config.staleTtlMs,
  });
  const cacheRequests = counter('cacheRequests' as never) as unknown as {
    inc(l: Record<string, string>): void;
  };
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });
  mountProductRoutes(router, {
    store,
    cache,
    retryAfterSec: 5,
    onCacheResult: (result) => cacheRequests.inc({ cache: 'products', result }),
  });
  mountReservationRoutes(router, { store, cache, retryAfterSec: 2 });
  app.use(router);
  app.use((req: Request) => {
    throw new CatalogError('CATALOG_ERR_NOT_FOUND', `no route ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const p = renderProblem(err, undefined, req.originalUrl);
    res.status(p.status).set(p.headers).send(JSON.stringify(p.body));
  });
  return app;
}
