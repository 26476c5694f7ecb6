/**
 * Transactional outbox.
 *
 * Invariant: an event exists if and only if the state change that caused it
 * committed — `enqueueEvent` writes the outbox row on the caller's client,
 * inside the caller's transaction. The relay then copies unpublished rows to
 * their Redis stream and marks a row published only after XADD succeeded, in
 * the same PostgreSQL transaction that locked it (FOR UPDATE SKIP LOCKED, so
 * several relays never publish one row twice concurrently). If Redis is down
 * the transaction rolls back and the rows wait. Delivery is therefore
 * at-least-once, and consumers de-duplicate by event id (inbox.ts).
 *
 * Acknowledgement order (issue 13): a row is published only once the
 * transaction that wrote it is durable, and marked published only once
 * Redis durably holds its entry. Why a crash at any point keeps that:
 * - The relay can only *see* a row after its transaction committed, and with
 *   synchronous_commit on (the platform's setting, local/src/postgres.ts) a
 *   commit becomes visible to other sessions only after its WAL is flushed.
 *   With it off, a commit is visible — and was published and charged — before
 *   it is durable, and a crash of PostgreSQL then loses the order behind an
 *   event already out (the failure the db-crash drill shows with
 *   BW_PG_UNSAFE=1). Never run a producer's database with it off.
 * - Crash before XADD returned: the transaction dies, the lock goes, the
 *   rows are still unpublished and the next relay turn sends them.
 * - Crash after XADD, before COMMIT (relay, or PostgreSQL): the mark is lost,
 *   the rows are published again — a duplicate entry, which consumers drop.
 * - Crash of Redis after it answered XADD: the entry is in its append-only
 *   file before the answer (`appendfsync always`, local/src/redis.ts), so the
 *   row marked published never names an entry Redis has lost.
 * - COMMIT sent, answer lost: either outcome is one of the two above.
 *
 * The table (each publishing service's migrations create it, e.g.
 * services/orders/migrations/001_orders.sql; events/test/migrations for this layer's tests):
 *   outbox(id bigserial, event_id uuid unique, stream text, type text,
 *          payload jsonb, created_at, published_at null until sent, stream_entry_id)
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { EventEnvelope } from './envelope.ts';
import { type EventLogger, silentLogger } from './logger.ts';
import { catalogueEventMetrics, type EventMetrics } from './metrics.ts';
import { withTransaction } from './postgres.ts';
import { waitReady } from './redis.ts';
import { pause, runWithBackoff } from './run-loop.ts';
import { activeTraceparent } from './trace-context.ts';

/** Anything that can run a query: a pool client inside a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/**
 * Adds `event` to the outbox on `client` (call inside the transaction that
 * makes the change). Fills in `traceparent` from the active span when the
 * event has none. Re-enqueueing the same event id is a no-op.
 */
export async function enqueueEvent(client: Queryable, stream: string, event: EventEnvelope): Promise<void> {
  if (event.traceparent === undefined) {
    const tp = activeTraceparent();
    if (tp !== undefined) event.traceparent = tp;
  }
  await client.query(
    `INSERT INTO outbox (event_id, stream, type, payload) VALUES ($1, $2, $3, $4)
     ON CONFLICT (event_id) DO NOTHING`,
    [event.id, stream, event.type, JSON.stringify(event)],
  );
}

/** The fields of an event's stream entry: `type` (for people reading the stream) and `event`, the envelope as JSON. */
export function streamEntryFields(event: EventEnvelope): [string, string, string, string] {
  return ['type', event.type, 'event', JSON.stringify(event)];
}

export interface OutboxRelayOptions {
  pool: pg.Pool;
  redis: Redis;
  /** Rows per transaction. Default 100. */
  batchSize?: number;
  /** Wait between polls when the outbox is empty, ms. Default 100. */
  pollMs?: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). Default 100_000. */
  maxStreamLength?: number;
  /** Published rows older than this are deleted, ms. Default 3_600_000 (1 h). */
  retainPublishedMs?: number;
  /**
   * When set, inbox rows (`processed_events`, see inbox.ts) older than this
   * are deleted too, ms. Keep it far longer than any redelivery can take.
   */
  retainInboxMs?: number;
  log?: EventLogger;
  metrics?: EventMetrics;
}

export class OutboxRelay {
  readonly #pool: pg.Pool;
  readonly #redis: Redis;
  readonly #batch: number;
  readonly #pollMs: number;
  readonly #maxLen: number;
  readonly #retainMs: number;
  readonly #retainInboxMs: number | undefined;
  readonly #log: EventLogger;
  readonly #metrics: EventMetrics;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #lastCleanup = 0;
  #wake: (() => void) | undefined;

  constructor(o: OutboxRelayOptions) {
    this.#pool = o.pool;
    this.#redis = o.redis;
    this.#batch = o.batchSize ?? 100;
    this.#pollMs = o.pollMs ?? 100;
    this.#maxLen = o.maxStreamLength ?? 100_000;
    this.#retainMs = o.retainPublishedMs ?? 3_600_000;
    this.#retainInboxMs = o.retainInboxMs;
    this.#log = o.log ?? silentLogger;
    this.#metrics = o.metrics ?? catalogueEventMetrics();
    if (!(this.#batch >= 1)) throw new RangeError(`batchSize must be >= 1, got ${this.#batch}`);
  }

  /** Starts the relay loop (idempotent). */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Ends the poll wait early, e.g. right after a commit that enqueued an event. */
  nudge(): void {
    this.#wake?.();
  }

  /** Stops after the current batch. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    // Fail-fast clients refuse commands until connected: give start-up a moment.
    await waitReady(this.#redis, 5_000, signal);
    await runWithBackoff(
      signal,
      async () => {
        const n = await this.publishBatch();
        if (n < this.#batch) await this.#idle(signal);
      },
      {
        floorMs: 250,
        onError: (err, failures) => {
          if (failures === 1 || failures % 50 === 0) {
            this.#log.warn(
              { err: (err as Error).message, failures },
              'outbox relay: publish failed; rows wait',
            );
          }
        },
      },
    );
  }

  #idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const ac = new AbortController();
      const done = () => {
        this.#wake = undefined;
        ac.abort();
        resolve();
      };
      this.#wake = done;
      void pause(this.#pollMs, AbortSignal.any([signal, ac.signal])).then(done);
    });
  }

  /**
   * Publishes one batch of unpublished rows; returns how many. Throws (and
   * leaves every row of the batch unpublished) when Redis or PostgreSQL fails.
   */
  async publishBatch(): Promise<number> {
    let rows: { stream: string }[];
    try {
      rows = await withTransaction(this.#pool, async (client) => {
        const { rows } = await client.query<{ id: string; stream: string; payload: unknown }>(
          `SELECT id, stream, payload FROM outbox WHERE published_at IS NULL
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [this.#batch],
        );
        if (rows.length > 0) {
          const pipe = this.#redis.pipeline();
          for (const r of rows) {
            const ev = r.payload as EventEnvelope;
            pipe.xadd(r.stream, 'MAXLEN', '~', this.#maxLen, '*', ...streamEntryFields(ev));
          }
          const results = await pipe.exec();
          if (!results) throw new Error('redis pipeline returned no results');
          const ids: string[] = [];
          const entryIds: string[] = [];
          results.forEach(([err, entryId], i) => {
            if (err) throw err;
            ids.push((rows[i] as { id: string }).id);
            entryIds.push(String(entryId));
          });
          await client.query(
            `UPDATE outbox o SET published_at = now(), stream_entry_id = u.entry
           FROM unnest($1::bigint[], $2::text[]) AS u(id, entry) WHERE o.id = u.id`,
            [ids, entryIds],
          );
        }
        return rows;
      });
    } catch (err) {
      await this.#refreshBacklog().catch(() => {});
      throw err;
    }
    const perStream = new Map<string, number>();
    for (const r of rows) perStream.set(r.stream, (perStream.get(r.stream) ?? 0) + 1);
    for (const [s, n] of perStream) this.#metrics.outboxPublished(s, n);
    await this.#refreshBacklog();
    await this.#cleanup();
    return rows.length;
  }

  async #refreshBacklog(): Promise<void> {
    this.#metrics.outboxBacklog(await outboxBacklog(this.#pool));
  }

  async #cleanup(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastCleanup < 60_000) return;
    this.#lastCleanup = now;
    await this.#pool.query(
      `DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)`,
      [this.#retainMs / 1000],
    );
    if (this.#retainInboxMs !== undefined) {
      await this.#pool.query(
        'DELETE FROM processed_events WHERE processed_at < now() - make_interval(secs => $1)',
        [this.#retainInboxMs / 1000],
      );
    }
  }
}

/** Rows not yet published. */
export async function outboxBacklog(db: Queryable): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
  return (rows[0] as { n: number }).n;
}
