/** PostgreSQL access for sent notifications. */
import { uuidFromName } from '@breakwater/events/envelope';
import type pg from 'pg';
import type { NotificationKind } from '../domain/messages.ts';

export interface NewNotification {
  eventId: string;
  orderId: string;
  kind: NotificationKind;
  customerId: string;
  body: string;
  traceId: string | undefined;
}

export class NotificationsStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Records the notification once; false when it already exists (same order and kind, or same event). */
  async record(n: NewNotification): Promise<boolean> {
    const r = await this.#pool.query(
      `INSERT INTO notifications (id, event_id, order_id, kind, customer_id, body, trace_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [
        uuidFromName(`notification:${n.orderId}:${n.kind}`),
        n.eventId,
        n.orderId,
        n.kind,
        n.customerId,
        n.body,
        n.traceId ?? null,
      ],
    );
    return r.rowCount === 1;
  }
}
