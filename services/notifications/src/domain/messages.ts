/** What a notification says. No I/O. */
import type { OrderCancelled, OrderConfirmed } from '@breakwater/contracts';

export type NotificationKind = 'order_confirmed' | 'order_cancelled';

const euros = (cents: number) => `€${(cents / 100).toFixed(2)}`;

export function confirmedMessage(d: OrderConfirmed): string {
  return `Your order ${d.orderId} is confirmed: ${euros(d.amountCents)} was charged.`;
}

export function cancelledMessage(d: OrderCancelled): string {
  return `Your order ${d.orderId} was cancelled (${d.reason}); nothing was charged.`;
}
