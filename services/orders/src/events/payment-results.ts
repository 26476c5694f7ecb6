/**
 * The orders side of the saga: consumes payment results (group `orders` on
 * the payments stream). A success confirms the order; a decline first
 * releases the reservation at the catalog (idempotent; if the catalog is
 * unavailable the handler fails and the entry is retried later), then
 * cancels the order. Each result is applied once (inbox by event id).
 */
import { EVENT_TYPES, type PaymentDeclined, type PaymentSucceeded } from '@breakwater/contracts';
import { type EventHandler, PermanentEventError } from '@breakwater/events';
import type { CatalogClient } from '../clients/catalog-client.ts';
import type { OrdersStore } from '../store/orders-store.ts';

export const ORDERS_GROUP = 'orders';

export function paymentResultHandlers(
  store: OrdersStore,
  catalog: CatalogClient,
): Record<string, EventHandler> {
  const succeeded: EventHandler<PaymentSucceeded> = async (event) => {
    const r = await store.applyPayment(ORDERS_GROUP, event.id, event.data.orderId, {
      kind: 'succeeded',
      paymentId: event.data.paymentId,
    });
    if (r === 'missing') throw new PermanentEventError(`no order ${event.data.orderId}`);
    return r === 'applied' ? 'ok' : 'duplicate';
  };

  const declined: EventHandler<PaymentDeclined> = async (event) => {
    const order = await store.peek(event.data.orderId);
    if (!order) throw new PermanentEventError(`no order ${event.data.orderId}`);
    if (order.status === 'PENDING_PAYMENT') await catalog.release(order.reservationId);
    const r = await store.applyPayment(ORDERS_GROUP, event.id, event.data.orderId, {
      kind: 'declined',
      paymentId: event.data.paymentId,
      reason: event.data.reason,
    });
    return r === 'applied' ? 'ok' : 'duplicate';
  };

  return {
    [EVENT_TYPES.paymentSucceeded]: succeeded,
    [EVENT_TYPES.paymentDeclined]: declined,
  };
}
