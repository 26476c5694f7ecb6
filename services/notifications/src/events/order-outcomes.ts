/**
 * Records one notification per confirmed or cancelled order (group
 * `notifications` on the orders stream). The row is written after the
 * channel accepted the message; the UNIQUE (order_id, kind) makes a
 * redelivered or reclaimed event a duplicate instead of a second message.
 */

import { EVENT_TYPES, type OrderCancelled, type OrderConfirmed } from '@breakwater/contracts';
import type { EventHandler } from '@breakwater/events';
import { context, trace } from '@opentelemetry/api';
import type { SimulatedChannel } from '../clients/channel.ts';
import { cancelledMessage, confirmedMessage } from '../domain/messages.ts';
import type { NotificationsStore } from '../store/notifications-store.ts';

export const NOTIFICATIONS_GROUP = 'notifications';

const activeTraceId = () => {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
};

export function orderOutcomeHandlers(
  store: NotificationsStore,
  channel: SimulatedChannel,
): Record<string, EventHandler> {
  /** Sends `body` to the customer, then records it once per event ('duplicate' when already recorded). */
  const notify =
    <D extends OrderConfirmed | OrderCancelled>(
      kind: 'order_confirmed' | 'order_cancelled',
      message: (data: D) => string,
    ): EventHandler<D> =>
    async (event) => {
      const body = message(event.data);
      await channel.send(event.data.customerId, body);
      const fresh = await store.record({
        eventId: event.id,
        orderId: event.data.orderId,
        kind,
        customerId: event.data.customerId,
        body,
        traceId: activeTraceId(),
      });
      return fresh ? 'ok' : 'duplicate';
    };
  const confirmed = notify<OrderConfirmed>('order_confirmed', confirmedMessage);
  const cancelled = notify<OrderCancelled>('order_cancelled', cancelledMessage);
  return { [EVENT_TYPES.orderConfirmed]: confirmed, [EVENT_TYPES.orderCancelled]: cancelled };
}
