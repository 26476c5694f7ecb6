/**
 * The shop's event catalogue: stream names, event types and the schema of
 * each type's `data`, per `dataversion`. Producers and consumers import these
 * so a field is named in one place.
 *
 * Streams (one per producing service; consumer groups per consuming service):
 * - `bw:orders`   — order.placed, order.confirmed, order.cancelled (orders)
 * - `bw:payments` — payment.succeeded, payment.declined (payments)
 */
import { z } from 'zod';

export const STREAMS = {
  orders: 'bw:orders',
  payments: 'bw:payments',
} as const;

export const EVENT_TYPES = {
  orderPlaced: 'breakwater.order.placed',
  orderConfirmed: 'breakwater.order.confirmed',
  orderCancelled: 'breakwater.order.cancelled',
  paymentSucceeded: 'breakwater.payment.succeeded',
  paymentDeclined: 'breakwater.payment.declined',
} as const;

const uuid = z.uuid();
const Line = z.object({
  productId: z.string().min(1).max(64),
  quantity: z.number().int().positive(),
  unitPriceCents: z.number().int().nonnegative(),
});

export const OrderPlacedV1 = z.object({
  orderId: uuid,
  customerId: z.string().min(1).max(100),
  reservationId: uuid,
  amountCents: z.number().int().nonnegative(),
  currency: z.literal('EUR'),
  items: z.array(Line).min(1),
});
export type OrderPlaced = z.infer<typeof OrderPlacedV1>;

export const OrderConfirmedV1 = z.object({
  orderId: uuid,
  customerId: z.string().min(1).max(100),
  amountCents: z.number().int().nonnegative(),
  paymentId: uuid,
});
export type OrderConfirmed = z.infer<typeof OrderConfirmedV1>;

export const OrderCancelledV1 = z.object({
  orderId: uuid,
  customerId: z.string().min(1).max(100),
  reason: z.string().min(1).max(500),
});
export type OrderCancelled = z.infer<typeof OrderCancelledV1>;

export const PaymentSucceededV1 = z.object({
  orderId: uuid,
  paymentId: uuid,
  amountCents: z.number().int().nonnegative(),
  processorRef: z.string().min(1).max(100),
});
export type PaymentSucceeded = z.infer<typeof PaymentSucceededV1>;

export const PaymentDeclinedV1 = z.object({
  orderId: uuid,
  paymentId: uuid,
  amountCents: z.number().int().nonnegative(),
  reason: z.string().min(1).max(500),
});
export type PaymentDeclined = z.infer<typeof PaymentDeclinedV1>;

/** `data` schema by type, then by dataversion. */
export const DATA_SCHEMAS: Readonly<Record<string, Readonly<Record<string, z.ZodType>>>> = {
  [EVENT_TYPES.orderPlaced]: { '1': OrderPlacedV1 },
  [EVENT_TYPES.orderConfirmed]: { '1': OrderConfirmedV1 },
  [EVENT_TYPES.orderCancelled]: { '1': OrderCancelledV1 },
  [EVENT_TYPES.paymentSucceeded]: { '1': PaymentSucceededV1 },
  [EVENT_TYPES.paymentDeclined]: { '1': PaymentDeclinedV1 },
};

export const SOURCES = {
  orders: '/breakwater/orders',
  payments: '/breakwater/payments',
} as const;
