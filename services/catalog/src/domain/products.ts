/** Products and paging: plain values and validation, no I/O. */
import { z } from 'zod';

export interface Product {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export interface ProductPage {
  items: Product[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const PRODUCT_ID = /^[a-z0-9-]{1,64}$/;
export const ProductId = z.string().regex(PRODUCT_ID, 'a product id: 1-64 of a-z, 0-9, -');

export const PAGE_DEFAULT = 20;
export const PAGE_MAX = 100;

export const ListQuery = z
  .object({
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, 'an integer')
      .transform(Number)
      .pipe(z.number().int().min(1).max(PAGE_MAX))
      .optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/**
 * The cursor is the last id of the page. Plain, not encoded: every string its
 * documented pattern (a product id) admits is then a cursor the catalog can
 * answer — the page after that id.
 */
export function encodeCursor(lastId: string): string {
  return lastId;
}

/** The id after which the page starts, or undefined when `cursor` is not a product id. */
export function decodeCursor(cursor: string): string | undefined {
  return PRODUCT_ID.test(cursor) ? cursor : undefined;
}
