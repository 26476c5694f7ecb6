/**
 * Consumer-side de-duplication. Streams deliver at least once (outbox
 * re-publishing, reclaimed entries), so a handler applies an event's effect
 * and records the event id in the same transaction: `claimEvent` inserts
 * (group, event_id) and answers false when the row already exists, in which
 * case the handler commits nothing and reports a duplicate.
 *
 * The table (each consuming service's migrations create it, e.g.
 * services/orders/migrations/001_orders.sql; events/test/migrations for this layer's tests):
 *   processed_events(consumer_group text, event_id text, processed_at, PK(group, event_id))
 */
import type { Queryable } from './outbox.ts';

/** True when this (group, event id) was not processed before; call inside the effect's transaction. */
export async function claimEvent(client: Queryable, group: string, eventId: string): Promise<boolean> {
  const r = await client.query(
    'INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [group, eventId],
  );
  return r.rowCount === 1;
}
