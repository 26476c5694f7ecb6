/**
 * GET /products?limit=&cursor= and GET /products/:id — cache-aside reads.
 *
 * Response headers: `X-Cache: hit | miss | bypass | stale`. `stale` means
 * PostgreSQL could not answer and the last copy from Redis was served; it
 * also carries `Warning: 110 - "Response is Stale"` and `Age`. When neither
 * can answer: 503 CATALOG_ERR_UNAVAILABLE with Retry-After.
 *
 * `Cache-Control: max-age=1, stale-if-error=600` (PRODUCT_CACHE_CONTROL): a
 * product page may be a second old, and an edge may serve it for ten minutes
 * more while catalog is failing (RFC 5861) — the gateway's stale-if-error
 * does exactly that. Stock shown stale is only a hint: reservations check it.
 */
import { parseRequest } from '@breakwater/mesh/errors';
import type { Request, Response, Router } from 'express';
import {
  decodeCursor,
  encodeCursor,
  ListQuery,
  PAGE_DEFAULT,
  type Product,
  ProductId,
} from '../domain/products.ts';
import { CatalogError, invalidRequest } from '../errors.ts';
import type { Cached, ProductCache } from '../store/product-cache.ts';
import type { ProductsStore } from '../store/products-store.ts';
import type { SourceBreaker } from '../store/source-breaker.ts';

export interface ProductRouteDeps {
  store: ProductsStore;
  cache: ProductCache;
  /** Guards PostgreSQL reads so a hanging database does not make every read wait its timeout. */
  breaker: SourceBreaker;
  onCacheResult?: (result: string) => void;
  /** Retry-After for the 503 when both PostgreSQL and Redis fail, s. */
  retryAfterSec: number;
}

export const PRODUCT_CACHE_CONTROL = 'max-age=1, stale-if-error=600';

/** Any failure that is not our own validation/not-found answer means the source is down. */
const isSourceFailure = (err: unknown) => !CatalogError.is(err);

function send<T>(res: Response, c: Cached<T>, body: unknown): void {
  res.setHeader('X-Cache', c.result);
  if (c.result === 'stale') {
    res.setHeader('Warning', '110 - "Response is Stale"');
    res.setHeader('Age', String(c.ageS ?? 0));
  }
  res.setHeader('Cache-Control', PRODUCT_CACHE_CONTROL);
  res.json(body);
}

function unavailable(err: unknown, retryAfterSec: number): never {
  if (CatalogError.is(err)) throw err;
  throw new CatalogError('CATALOG_ERR_UNAVAILABLE', 'product data is unavailable (database and cache)', {
    cause: err,
    retryAfterSec,
  });
}

export function mountProductRoutes(router: Router, deps: ProductRouteDeps): void {
  router.get('/products', async (req: Request, res: Response) => {
    const q = parseRequest(ListQuery, req.query, 'query', invalidRequest);
    const limit = q.limit ?? PAGE_DEFAULT;
    let after: string | undefined;
    if (q.cursor !== undefined) {
      after = decodeCursor(q.cursor);
      if (after === undefined)
        throw new CatalogError(
          'CATALOG_ERR_VALIDATION',
          'query: cursor: not a product id (pass the nextCursor of a page)',
        );
    }
    const key = `list:${limit}:${after ?? ''}`;
    const cached = await deps.cache
      .read(
        key,
        async () => {
          const page = await deps.breaker.run(() => deps.store.list(limit, after));
          const last = page.items[page.items.length - 1];
          return { items: page.items, nextCursor: page.more && last ? encodeCursor(last.id) : null };
        },
        isSourceFailure,
      )
      .catch((err) => unavailable(err, deps.retryAfterSec));
    deps.onCacheResult?.(cached.result);
    send(res, cached, cached.value);
  });

  router.get('/products/:id', async (req: Request, res: Response) => {
    const id = parseRequest(ProductId, req.params.id, 'path: id', invalidRequest);
    const cached = await deps.cache
      .read<Product | null>(
        `product:${id}`,
        async () => (await deps.breaker.run(() => deps.store.get(id))) ?? null,
        isSourceFailure,
        (p) => p !== null,
      )
      .catch((err) => unavailable(err, deps.retryAfterSec));
    deps.onCacheResult?.(cached.result);
    if (cached.value === null) throw new CatalogError('CATALOG_ERR_NOT_FOUND', `no product ${id}`);
    send(res, cached, cached.value);
  });
}
