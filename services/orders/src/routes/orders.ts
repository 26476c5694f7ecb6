/**
 * POST /orders (Idempotency-Key required) and GET /orders/:id.
 *
 * Placing an order: validate → same key seen? (same body: the same order;
 * other body: 422) → reserve stock at the catalog (sync, mesh client) →
 * write order + history + order.placed outbox row in one transaction →
 * 202 Accepted, `Location: /api/orders/{id}`. Payment happens later, driven
 * by events; the client polls the Location.
 */

import { randomUUID } from 'node:crypto';
import { MeshError } from '@breakwater/mesh';
import { parseRequest } from '@breakwater/mesh/errors';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { CatalogClient } from '../clients/catalog-client.ts';
import {
  IDEMPOTENCY_KEY,
  type Order,
  orderIdForKey,
  PlaceOrderRequest,
  requestHash,
} from '../domain/orders.ts';
import { invalidRequest, OrdersError } from '../errors.ts';
import type { OrdersStore } from '../store/orders-store.ts';

export interface OrderRouteDeps {
  store: OrdersStore;
  catalog: CatalogClient;
  /** Called after an order committed (wakes the outbox relay). */
  onPlaced?: () => void;
}

/** Public URL of an order (through the gateway). */
export const orderLocation = (id: string) => `/api/orders/${id}`;

const RETRY_AFTER_S = 2;

function dbUnavailable(err: unknown): never {
  if (OrdersError.is(err)) throw err;
  throw new OrdersError('ORDERS_ERR_UNAVAILABLE', 'the orders database is unavailable', {
    cause: err,
    retryAfterSec: RETRY_AFTER_S,
  });
}

function accepted(res: Response, order: Order): void {
  res.status(202).location(orderLocation(order.id)).json(order);
}

export function mountOrderRoutes(router: Router, deps: OrderRouteDeps): void {
  router.post('/orders', async (req: Request, res: Response) => {
    const key = req.get('idempotency-key');
    if (key === undefined || key === '') {
      throw new OrdersError('ORDERS_ERR_IDEMPOTENCY_KEY_REQUIRED');
    }
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new OrdersError('ORDERS_ERR_VALIDATION', 'Idempotency-Key: 1-128 of A-Z a-z 0-9 _ . : -');
    }
    const body = parseRequest(PlaceOrderRequest, req.body, 'body', invalidRequest);
    const hash = requestHash(body);

    const replay = async (existing: { id: string; requestHash: string }) => {
      if (existing.requestHash !== hash) throw new OrdersError('ORDERS_ERR_IDEMPOTENCY_MISMATCH');
      const order = await deps.store.get(existing.id).catch(dbUnavailable);
      if (!order) throw new Error(`order ${existing.id} vanished`);
      accepted(res, order);
    };

    const existing = await deps.store.findByKey(key).catch(dbUnavailable);
    if (existing) return replay(existing);

    const orderId = orderIdForKey(key);
    const reserve = (reservationId: string) =>
      deps.catalog
        .reserve(reservationId, body.items, {
          ...(req.bw.deadline ? { deadline: req.bw.deadline } : {}),
          signal: req.bw.signal,
        })
        .catch((err: unknown) => {
          if (err instanceof MeshError) {
            throw new OrdersError('ORDERS_ERR_CATALOG_UNAVAILABLE', `catalog: ${err.code}`, {
              cause: err,
              retryAfterSec: err.retryAfterSec ?? RETRY_AFTER_S,
            });
          }
          throw err;
        });
    // The first attempt uses the order id as reservation id, so a retry after
    // a crash between reserving and writing reuses that reservation. When an
    // earlier attempt with this key could not write its order, it gave its
    // stock back (the id is now a released tombstone): this attempt then
    // reserves under a fresh id.
    let reservationId = orderId;
    let reserved = await reserve(reservationId);
    if (!reserved.ok && reserved.code === 'CATALOG_ERR_RESERVATION_RELEASED') {
      reservationId = randomUUID();
      reserved = await reserve(reservationId);
    }
    if (!reserved.ok) {
      switch (reserved.code) {
        case 'CATALOG_ERR_OUT_OF_STOCK':
          throw new OrdersError('ORDERS_ERR_OUT_OF_STOCK', reserved.detail);
        case 'CATALOG_ERR_UNKNOWN_PRODUCT':
          throw new OrdersError('ORDERS_ERR_UNKNOWN_PRODUCT', reserved.detail);
        case 'CATALOG_ERR_RESERVATION_CONFLICT':
          // An earlier attempt with this key reserved other items.
          throw new OrdersError('ORDERS_ERR_IDEMPOTENCY_MISMATCH', reserved.detail);
        default:
          if (reserved.status >= 500) {
            throw new OrdersError('ORDERS_ERR_CATALOG_UNAVAILABLE', reserved.detail, {
              retryAfterSec: RETRY_AFTER_S,
            });
          }
          throw new OrdersError('ORDERS_ERR_VALIDATION', `catalog refused the items: ${reserved.detail}`);
      }
    }

    let result: Awaited<ReturnType<OrdersStore['insertPending']>>;
    try {
      result = await deps.store.insertPending({
        id: orderId,
        idempotencyKey: key,
        requestHash: hash,
        customerId: body.customerId,
        lines: reserved.lines,
        reservationId,
      });
    } catch (err) {
      // No order was written: give the stock back (best effort — a retry with
      // the same key reuses this reservation id, so nothing leaks twice).
      await deps.catalog.release(reservationId).catch(() => {});
      dbUnavailable(err);
    }
    if (!result.inserted) return replay(result.existing);
    deps.onPlaced?.();
    accepted(res, result.order);
  });

  router.get('/orders/:id', async (req: Request, res: Response) => {
    const id = parseRequest(z.uuid(), req.params.id, 'path: id', invalidRequest);
    const order = await deps.store.get(id).catch(dbUnavailable);
    if (!order) throw new OrdersError('ORDERS_ERR_NOT_FOUND', `no order ${id}`);
    res.json(order);
  });
}
