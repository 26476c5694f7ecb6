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
      // A product named on several lines is one line of their total: a rule a
      // JSON schema cannot state would refuse requests its document accepts.
      .transform(mergeLines),
  })
  .strict();
export type ReservationRequest = z.infer<typeof ReservationRequest>;

/** One line per product, quantities summed, in the order products first appear. */
export function mergeLines<L extends { productId: string; quantity: number }>(lines: readonly L[]): L[] {
  const byId = new Map<string, L>();
  for (const line of lines) {
    const seen = byId.get(line.productId);
    byId.set(line.productId, seen ? { ...seen, quantity: seen.quantity + line.quantity } : { ...line });
  }
  return [...byId.values()];
}

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
