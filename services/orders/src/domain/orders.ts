/** Orders: request shape, idempotency fingerprint, the saga's state rules. No I/O. */
import { createHash } from 'node:crypto';
import { uuidFromName } from '@breakwater/events/envelope';
import { z } from 'zod';

export const ORDER_STATUSES = ['PENDING_PAYMENT', 'CONFIRMED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const MAX_LINE_QUANTITY = 100;
export const MAX_LINES = 20;

export const PlaceOrderRequest = z
  .object({
    customerId: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.@+-]+$/, 'letters, digits and _ . @ + -'),
    items: z
      .array(
        z
          .object({
            productId: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a product id'),
            quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY),
          })
          .strict(),
      )
      .min(1)
      // A product on several lines is allowed (the catalog reserves their
      // total as one line): the OpenAPI document cannot state such a rule.
      .max(MAX_LINES),
  })
  .strict();
export type PlaceOrderRequest = z.infer<typeof PlaceOrderRequest>;

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface OrderLine {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface HistoryEntry {
  status: OrderStatus;
  reason: string | null;
  at: string;
}

export interface Order {
  id: string;
  status: OrderStatus;
  customerId: string;
  items: OrderLine[];
  amountCents: number;
  currency: string;
  reservationId: string;
  paymentId: string | null;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
}

/** Fingerprint of a request body, independent of key order and line order. */
export function requestHash(req: PlaceOrderRequest): string {
  const canonical = {
    customerId: req.customerId,
    items: [...req.items]
      .sort((a, b) => (a.productId < b.productId ? -1 : 1))
      .map((i) => [i.productId, i.quantity]),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * The order id for an Idempotency-Key. Deterministic, so a retried request
 * (after a crash between reserving and writing the order) reuses the same
 * reservation id at the catalog instead of taking stock twice.
 */
export function orderIdForKey(key: string): string {
  return uuidFromName(`order:${key}`);
}

export function amountOf(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
}

/** A payment result may only move a pending order; later results are no-ops. */
export function nextStatus(current: OrderStatus, result: 'succeeded' | 'declined'): OrderStatus | undefined {
  if (current !== 'PENDING_PAYMENT') return undefined;
  return result === 'succeeded' ? 'CONFIRMED' : 'CANCELLED';
}
