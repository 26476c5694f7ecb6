/** PostgreSQL access for payments and the payments outbox. */
import { EVENT_TYPES, SOURCES, STREAMS } from '@breakwater/contracts';
import { createEvent, enqueueEvent, uuidFromName, withTransaction } from '@breakwater/events';
import type pg from 'pg';

export type PaymentStatus = 'PENDING' | 'CAPTURED' | 'DECLINED';

export interface Payment {
  id: string;
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  reason: string | null;
  processorRef: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

interface PaymentRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount_cents: number;
  currency: string;
  status: PaymentStatus;
  reason: string | null;
  processor_ref: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

const toPayment = (r: PaymentRow): Payment => ({
  id: r.id,
  orderId: r.order_id,
  customerId: r.customer_id,
  amountCents: r.amount_cents,
  currency: r.currency,
  status: r.status,
  reason: r.reason,
  processorRef: r.processor_ref,
  attempts: r.attempts,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export const paymentIdFor = (orderId: string) => uuidFromName(`payment:${orderId}`);

export class PaymentsStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async byOrder(orderId: string): Promise<Payment | undefined> {
    const { rows } = await this.#pool.query<PaymentRow>('SELECT * FROM payments WHERE order_id = $1', [
      orderId,
    ]);
    return rows[0] ? toPayment(rows[0]) : undefined;
  }

  /**
   * The order's payment row, created PENDING on first sight (the UNIQUE
   * order_id makes a second one impossible), with its attempt counted.
   */
  async begin(p: { orderId: string; customerId: string; amountCents: number }): Promise<Payment> {
    const { rows } = await this.#pool.query<PaymentRow>(
      `INSERT INTO payments (id, order_id, customer_id, amount_cents, status, attempts)
       VALUES ($1, $2, $3, $4, 'PENDING', 1)
       ON CONFLICT (order_id) DO UPDATE SET attempts = payments.attempts + 1, updated_at = now()
       RETURNING *`,
      [paymentIdFor(p.orderId), p.orderId, p.customerId, p.amountCents],
    );
    return toPayment(rows[0] as PaymentRow);
  }

  /**
   * Records the processor's answer and queues the result event, in one
   * transaction, only if the payment is still PENDING. Returns false when
   * another delivery of the same order finalised it first.
   */
  async finish(
    payment: Payment,
    result: { status: 'CAPTURED'; ref: string } | { status: 'DECLINED'; reason: string },
  ): Promise<boolean> {
    return withTransaction(this.#pool, async (client, tx) => {
      const upd = await client.query(
        `UPDATE payments SET status = $2, processor_ref = $3, reason = $4, updated_at = now()
         WHERE order_id = $1 AND status = 'PENDING'`,
        [
          payment.orderId,
          result.status,
          result.status === 'CAPTURED' ? result.ref : null,
          result.status === 'DECLINED' ? result.reason : null,
        ],
      );
      if (upd.rowCount === 0) {
        tx.rollback();
        return false;
      }
      // The event id is derived from the outcome and the order (uuidFromName): a repeat is the same event.
      const paid = { orderId: payment.orderId, paymentId: payment.id, amountCents: payment.amountCents };
      const outcome = (name: string) => ({
        id: uuidFromName(`${name}:${payment.orderId}`),
        source: SOURCES.payments,
        subject: payment.orderId,
      });
      const event =
        result.status === 'CAPTURED'
          ? createEvent({
              ...outcome('payment.succeeded'),
              type: EVENT_TYPES.paymentSucceeded,
              data: { ...paid, processorRef: result.ref },
            })
          : createEvent({
              ...outcome('payment.declined'),
              type: EVENT_TYPES.paymentDeclined,
              data: { ...paid, reason: result.reason },
            });
      await enqueueEvent(client, STREAMS.payments, event);
      return true;
    });
  }
}
