/**
 * Charges each placed order once (group `payments` on the orders stream).
 *
 * Once-only, by construction rather than luck: the payment row is keyed by
 * the order (UNIQUE order_id) and created before the processor is called;
 * the processor call carries the payment id as its idempotency key; the row
 * moves PENDING → CAPTURED/DECLINED (with the result event in the same
 * transaction) only from PENDING. A redelivery after that is a duplicate;
 * a redelivery in between repeats the idempotent processor call.
 */
import { EVENT_TYPES, type OrderPlaced } from '@breakwater/contracts';
import type { EventHandler } from '@breakwater/events';
import type { SimulatedProcessor } from '../clients/processor.ts';
import type { PaymentsStore } from '../store/payments-store.ts';

export const PAYMENTS_GROUP = 'payments';

export function orderPlacedHandlers(
  store: PaymentsStore,
  processor: SimulatedProcessor,
): Record<string, EventHandler> {
  const handler: EventHandler<OrderPlaced> = async (event) => {
    const { orderId, customerId, amountCents } = event.data;
    const payment = await store.begin({ orderId, customerId, amountCents });
    if (payment.status !== 'PENDING') return 'duplicate';
    const result = await processor.charge({ idempotencyKey: payment.id, amountCents, customerId });
    const applied = await store.finish(
      payment,
      result.status === 'captured'
        ? { status: 'CAPTURED', ref: result.ref }
        : { status: 'DECLINED', reason: result.reason },
    );
    return applied ? 'ok' : 'duplicate';
  };
  return { [EVENT_TYPES.orderPlaced]: handler };
}
