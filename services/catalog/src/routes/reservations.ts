/**
 * POST /reservations — take stock, idempotent by reservation id (201 the
 * first time, 200 with the same body on a replay).
 * DELETE /reservations/:id — give the stock back, idempotent (204).
 * Both go to PostgreSQL only (never Redis), so ordering works while Redis is down.
 */
import { parseRequest } from '@breakwater/mesh/errors';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { ReservationRequest } from '../domain/reservations.ts';
import { CatalogError, invalidRequest } from '../errors.ts';
import type { ProductCache } from '../store/product-cache.ts';
import type { ProductsStore } from '../store/products-store.ts';

export interface ReservationRouteDeps {
  store: ProductsStore;
  cache: ProductCache;
  retryAfterSec: number;
}

const toUnavailable = (retryAfterSec: number) => (err: unknown) => {
  if (CatalogError.is(err)) throw err;
  throw new CatalogError('CATALOG_ERR_UNAVAILABLE', 'the stock database is unavailable', {
    cause: err,
    retryAfterSec,
  });
};

export function mountReservationRoutes(router: Router, deps: ReservationRouteDeps): void {
  router.post('/reservations', async (req: Request, res: Response) => {
    const body = parseRequest(ReservationRequest, req.body, 'body', invalidRequest);
    const { reservation, replayed } = await deps.store.reserve(body).catch(toUnavailable(deps.retryAfterSec));
    if (!replayed) await deps.cache.invalidate(reservation.items.map((i) => `product:${i.productId}`));
    res
      .status(replayed ? 200 : 201)
      .location(`/reservations/${reservation.id}`)
      .json(reservation);
  });

  router.delete('/reservations/:id', async (req: Request, res: Response) => {
    const id = parseRequest(z.uuid(), req.params.id, 'path: id', invalidRequest);
    const changed = await deps.store.release(id).catch(toUnavailable(deps.retryAfterSec));
    await deps.cache.invalidate(changed.map((p) => `product:${p}`));
    res.status(204).end();
  });
}
