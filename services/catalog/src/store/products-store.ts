/** PostgreSQL access for products, stock and reservations. */
import { withTransaction } from '@breakwater/events/postgres';
import type pg from 'pg';
import type { Product } from '../domain/products.ts';
import {
  type Reservation,
  type ReservationRequest,
  type ReservedLine,
  sameItems,
} from '../domain/reservations.ts';
import { CatalogError } from '../errors.ts';

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  stock: number;
}

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  name: r.name,
  description: r.description,
  priceCents: r.price_cents,
  currency: r.currency,
  stock: r.stock,
});

const COLUMNS = 'id, name, description, price_cents, currency, stock';

export interface ReserveResult {
  reservation: Reservation;
  /** True when this id had already reserved the same items (nothing changed). */
  replayed: boolean;
}

export class ProductsStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Up to `limit` products after id `after`, and whether more follow. */
  async list(limit: number, after: string | undefined): Promise<{ items: Product[]; more: boolean }> {
    const { rows } = await this.#pool.query<ProductRow>(
      `SELECT ${COLUMNS} FROM products WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [after ?? null, limit + 1],
    );
    return { items: rows.slice(0, limit).map(toProduct), more: rows.length > limit };
  }

  async get(id: string): Promise<Product | undefined> {
    const { rows } = await this.#pool.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [
      id,
    ]);
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  /**
   * Takes stock for every line, all or nothing. Idempotent by reservation id:
   * the same id with the same items answers the existing reservation; with
   * other items it is a conflict; after a release it is refused.
   */
  async reserve(req: ReservationRequest): Promise<ReserveResult> {
    const taken = await withTransaction(this.#pool, async (client, tx) => {
      // A concurrent insert of the same id makes this wait for that
      // transaction, so two replays can never both take stock.
      const inserted = await client.query(
        `INSERT INTO reservations (id, status) VALUES ($1, 'held') ON CONFLICT (id) DO NOTHING RETURNING id`,
        [req.reservationId],
      );
      if (inserted.rowCount === 0) {
        tx.rollback();
        return undefined;
      }
      const lines: ReservedLine[] = [];
      // Lock rows in id order so concurrent multi-line reservations cannot deadlock.
      for (const item of [...req.items].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
        const r = await client.query<{ price_cents: number }>(
          `UPDATE products SET stock = stock - $2, updated_at = now()
           WHERE id = $1 AND stock >= $2 RETURNING price_cents`,
          [item.productId, item.quantity],
        );
        const row = r.rows[0];
        if (!row) {
          const exists = await client.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [
            item.productId,
          ]);
          const current = exists.rows[0];
          throw current
            ? new CatalogError(
                'CATALOG_ERR_OUT_OF_STOCK',
                `only ${current.stock} of ${item.productId} in stock`,
                {
                  extensions: {
                    productId: item.productId,
                    available: current.stock,
                    requested: item.quantity,
                  },
                },
              )
            : new CatalogError('CATALOG_ERR_UNKNOWN_PRODUCT', `no product ${item.productId}`, {
                extensions: { productId: item.productId },
              });
        }
        lines.push({ productId: item.productId, quantity: item.quantity, unitPriceCents: row.price_cents });
      }
      await client.query(
        `INSERT INTO reservation_items (reservation_id, product_id, quantity, unit_price_cents)
         SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[])`,
        [
          req.reservationId,
          lines.map((l) => l.productId),
          lines.map((l) => l.quantity),
          lines.map((l) => l.unitPriceCents),
        ],
      );
      return lines;
    });
    if (taken === undefined) return { reservation: await this.#existing(req), replayed: true };
    return { reservation: { id: req.reservationId, status: 'held', items: taken }, replayed: false };
  }

  async #existing(req: ReservationRequest): Promise<Reservation> {
    const found = await this.getReservation(req.reservationId);
    if (!found) throw new Error(`reservation ${req.reservationId} vanished`);
    if (found.status === 'released') {
      throw new CatalogError(
        'CATALOG_ERR_RESERVATION_RELEASED',
        `reservation ${req.reservationId} was released`,
      );
    }
    if (!sameItems(found.items, req.items)) {
      throw new CatalogError(
        'CATALOG_ERR_RESERVATION_CONFLICT',
        `reservation ${req.reservationId} holds other items`,
      );
    }
    return found;
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const { rows } = await this.#pool.query<{
      status: 'held' | 'released';
      product_id: string | null;
      quantity: number | null;
      unit_price_cents: number | null;
    }>(
      `SELECT r.status, i.product_id, i.quantity, i.unit_price_cents
       FROM reservations r LEFT JOIN reservation_items i ON i.reservation_id = r.id
       WHERE r.id = $1 ORDER BY i.product_id`,
      [id],
    );
    const first = rows[0];
    if (!first) return undefined;
    return {
      id,
      status: first.status,
      items: rows
        .filter((r) => r.product_id !== null)
        .map((r) => ({
          productId: r.product_id as string,
          quantity: r.quantity as number,
          unitPriceCents: r.unit_price_cents as number,
        })),
    };
  }

  /**
   * Gives the stock of a held reservation back, once. Releasing an unknown
   * id leaves a released tombstone. Returns the product ids whose stock changed.
   */
  async release(id: string): Promise<string[]> {
    return withTransaction(this.#pool, async (client) => {
      const tomb = await client.query(
        `INSERT INTO reservations (id, status, released_at) VALUES ($1, 'released', now())
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [id],
      );
      if (tomb.rowCount === 1) return [];
      const held = await client.query(
        `UPDATE reservations SET status = 'released', released_at = now()
         WHERE id = $1 AND status = 'held' RETURNING id`,
        [id],
      );
      if (held.rowCount === 0) return [];
      const { rows } = await client.query<{ id: string }>(
        `UPDATE products p SET stock = p.stock + i.quantity, updated_at = now()
         FROM reservation_items i WHERE i.reservation_id = $1 AND p.id = i.product_id RETURNING p.id`,
        [id],
      );
      return rows.map((r) => r.id);
    });
  }
}
