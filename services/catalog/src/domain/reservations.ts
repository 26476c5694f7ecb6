/** Reservations: the request shape and the idempotency rule, no I/O. */
import { z } from 'zod';
import { ProductId } from './products.ts';

export const MAX_QUANTITY = 1_000;
export const MAX_LINES = 50;

export const ReservationRequest = z
  .object({
    reservationId: z.uuid(),
    items: z
      .array(z.object({ productId: ProductId, quantity: z.number().int().min(1).max(MAX_QUANTITY) }).strict())
      .min(1)
      .max(MAX_LINES)
      .refine((items) => new Set(items.map((i) => i.productId)).size === items.length, {
        message: 'each productId at most once',
      }),
  })
  .strict();
export type ReservationRequest = z.infer<typeof ReservationRequest>;

export interface ReservedLine {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Reservation {
  id: string;
  status: 'held' | 'released';
  items: ReservedLine[];
}

/** Same lines, ignoring order: a repeated reserve with these items is a replay. */
export function sameItems(
  a: readonly { productId: string; quantity: number }[],
  b: readonly { productId: string; quantity: number }[],
): boolean {
  if (a.length !== b.length) return false;
  const key = (xs: readonly { productId: string; quantity: number }[]) =>
    xs
      .map((x) => `${x.productId}:${x.quantity}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}
