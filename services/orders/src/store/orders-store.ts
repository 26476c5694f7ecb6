/** PostgreSQL access for orders, their history, the outbox and the inbox. */
import { EVENT_TYPES, SOURCES, STREAMS } from '@breakwater/contracts';
import { claimEvent, createEvent, enqueueEvent, uuidFromName, withTransaction } from '@breakwater/events';
import type pg from 'pg';
import {
  amountOf,
  type HistoryEntry,
  nextStatus,
  type Order,
  type OrderLine,
  type OrderStatus,
} from '../domain/orders.ts';

interface OrderRow {
  id: string;
  idempotency_key: string;
  request_hash: string;
  customer_id: string;
  items: OrderLine[];
  amount_cents: number;
  currency: string;
  status: OrderStatus;
  reservation_id: string;
  payment_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const toOrder = (r: OrderRow, history: HistoryEntry[]): Order => ({
  id: r.id,
  status: r.status,
  customerId: r.customer_id,
  items: r.items,
  amountCents: r.amount_cents,
  currency: r.currency,
  reservationId: r.reservation_id,
  paymentId: r.payment_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  history,
});

export interface NewOrder {
  id: string;
  idempotencyKey: string;
  requestHash: string;
  customerId: string;
  lines: OrderLine[];
  reservationId: string;
}

export type InsertResult =
  | { inserted: true; order: Order }
  | { inserted: false; existing: { id: string; requestHash: string } };

export type PaymentOutcome =
  | { kind: 'succeeded'; paymentId: string }
  | { kind: 'declined'; paymentId: string; reason: string };

export class OrdersStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** The first row `sql` returns, mapped by `map`; undefined when there is none. */
  async #first<R extends pg.QueryResultRow, T>(sql: string, params: unknown[], map: (row: R) => T) {
    const { rows } = await this.#pool.query<R>(sql, params);
    const row = rows[0];
    return row ? map(row) : undefined;
  }

  findByKey(key: string): Promise<{ id: string; requestHash: string } | undefined> {
    return this.#first(
      'SELECT id, request_hash FROM orders WHERE idempotency_key = $1',
      [key],
      (r: { id: string; request_hash: string }) => ({ id: r.id, requestHash: r.request_hash }),
    );
  }

  async get(id: string): Promise<Order | undefined> {
    const { rows } = await this.#pool.query<OrderRow>('SELECT * FROM orders WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return undefined;
    const h = await this.#pool.query<{ status: OrderStatus; reason: string | null; at: Date }>(
      'SELECT status, reason, at FROM order_history WHERE order_id = $1 ORDER BY seq',
      [id],
    );
    return toOrder(
      row,
      h.rows.map((x) => ({ status: x.status, reason: x.reason, at: x.at.toISOString() })),
    );
  }

  /**
   * Writes the order (PENDING_PAYMENT), its first history entry and the
   * order.placed event in one transaction. A concurrent insert with the same
   * key wins once; the loser gets the winner's id and fingerprint.
   */
  async insertPending(o: NewOrder): Promise<InsertResult> {
    const amount = amountOf(o.lines);
    const inserted = await withTransaction(this.#pool, async (client, tx) => {
      const ins = await client.query<OrderRow>(
        `INSERT INTO orders (id, idempotency_key, request_hash, customer_id, items, amount_cents, status, reservation_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'PENDING_PAYMENT', $7)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
        [
          o.id,
          o.idempotencyKey,
          o.requestHash,
          o.customerId,
          JSON.stringify(o.lines),
          amount,
          o.reservationId,
        ],
      );
      const row = ins.rows[0];
      if (!row) {
        tx.rollback();
        return undefined;
      }
      const h = await client.query<{ at: Date }>(
        `INSERT INTO order_history (order_id, status) VALUES ($1, 'PENDING_PAYMENT') RETURNING at`,
        [o.id],
      );
      await enqueueEvent(
        client,
        STREAMS.orders,
        createEvent({
          id: uuidFromName(`order.placed:${o.id}`),
          type: EVENT_TYPES.orderPlaced,
          source: SOURCES.orders,
          subject: o.id,
          data: {
            orderId: o.id,
            customerId: o.customerId,
            reservationId: o.reservationId,
            amountCents: amount,
            currency: 'EUR',
            items: o.lines,
          },
        }),
      );
      const at = (h.rows[0] as { at: Date }).at.toISOString();
      return toOrder(row, [{ status: 'PENDING_PAYMENT', reason: null, at }]);
    });
    if (inserted) return { inserted: true, order: inserted };
    const existing = await this.findByKey(o.idempotencyKey);
    if (!existing) throw new Error(`order with key ${o.idempotencyKey} vanished`);
    return { inserted: false, existing };
  }

  /** The order's current status and reservation, for the payment-result handler. */
  peek(id: string): Promise<{ status: OrderStatus; reservationId: string } | undefined> {
    return this.#first(
      'SELECT status, reservation_id FROM orders WHERE id = $1',
      [id],
      (r: { status: OrderStatus; reservation_id: string }) => ({
        status: r.status,
        reservationId: r.reservation_id,
      }),
    );
  }

  /**
   * Applies a payment result once (inbox by event id, in the same
   * transaction): a pending order becomes CONFIRMED or CANCELLED, gets a
   * history entry, and its order.confirmed / order.cancelled event is queued.
   * Returns 'duplicate' when the event was seen before, 'stale' when the
   * order was already final, 'missing' when there is no such order.
   */
  async applyPayment(
    group: string,
    eventId: string,
    orderId: string,
    outcome: PaymentOutcome,
  ): Promise<'applied' | 'duplicate' | 'stale' | 'missing'> {
    return withTransaction(this.#pool, async (client, tx) => {
      if (!(await claimEvent(client, group, eventId))) {
        tx.rollback();
        return 'duplicate';
      }
      const { rows } = await client.query<OrderRow>('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [
        orderId,
      ]);
      const row = rows[0];
      if (!row) {
        tx.rollback(); // no inbox row either: a later delivery tries again
        return 'missing';
      }
      const next = nextStatus(row.status, outcome.kind);
      if (!next) return 'stale'; // committed: keep the inbox row, this event is done
      const reason = outcome.kind === 'declined' ? `payment declined: ${outcome.reason}` : null;
      await client.query('UPDATE orders SET status = $2, payment_id = $3, updated_at = now() WHERE id = $1', [
        orderId,
        next,
        outcome.paymentId,
      ]);
      await client.query('INSERT INTO order_history (order_id, status, reason) VALUES ($1, $2, $3)', [
        orderId,
        next,
        reason,
      ]);
      const event =
        next === 'CONFIRMED'
          ? createEvent({
              id: uuidFromName(`order.confirmed:${orderId}`),
              type: EVENT_TYPES.orderConfirmed,
              source: SOURCES.orders,
              subject: orderId,
              data: {
                orderId,
                customerId: row.customer_id,
                amountCents: row.amount_cents,
                paymentId: outcome.paymentId,
              },
            })
          : createEvent({
              id: uuidFromName(`order.cancelled:${orderId}`),
              type: EVENT_TYPES.orderCancelled,
              source: SOURCES.orders,
              subject: orderId,
              data: { orderId, customerId: row.customer_id, reason: reason ?? 'cancelled' },
            });
      await enqueueEvent(client, STREAMS.orders, event);
      return 'applied';
    });
  }
}
