/** Orders written by orders' own store, for tests that need one to exist (the pact tests' states). */
import { randomUUID } from 'node:crypto';
import type { OrdersStore } from '../../src/store/orders-store.ts';

/**
 * A PENDING_PAYMENT order with id `id` (two of sku-0001 at 12.99), written by
 * OrdersStore.insertPending — so its order.placed is in the outbox, from the
 * same transaction. Does nothing when the order exists.
 */
export async function ensurePendingOrder(store: OrdersStore, id: string): Promise<void> {
  if (await store.get(id)) return;
  await store.insertPending({
    id,
    idempotencyKey: randomUUID(),
    requestHash: 'test',
    customerId: 'alice',
    lines: [{ productId: 'sku-0001', quantity: 2, unitPriceCents: 1299 }],
    reservationId: randomUUID(),
  });
}
