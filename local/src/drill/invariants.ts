/**
 * The invariant check after every drill: reads the four databases directly
 * (credentials from the run folder) and states, for the orders of one run
 * (customer ids `drill-<test id>-…`):
 *
 * - no accepted order lost: every order id the drill saw answered 202 (k6
 *   logs each, traffic.ts ACCEPTED_MARK) is a row in orders — or, for a
 *   script that does not log them, at least as many rows as 202s;
 * - every order reaches a final state (CONFIRMED / CANCELLED) within the
 *   settle time — polled, and how long it took is reported;
 * - none charged twice: at most one payment per order, CONFIRMED ⇔ CAPTURED;
 * - no payment without an order: every payment of the run's customers
 *   belongs to an order in the orders database;
 * - no notification missing or doubled: one per final order and kind;
 * - stock consistent, for the whole catalog: seed stock − held reservations
 *   = stock, and no CANCELLED order still holds its reservation;
 * - with `streams` (the crash drills): the saga's consumer groups still
 *   exist, nothing stays pending, and no entry was dead-lettered during the
 *   drill — a group, pending entry or acknowledgement Redis lost would show
 *   here or as an order that never completes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ProcessStatus } from '../managed-process.ts';

export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InvariantReport {
  results: InvariantResult[];
  /** ms until no order of the run was pending (undefined: none placed or never settled). */
  settleMs?: number;
  orders: number;
}

type Db = 'catalog' | 'orders' | 'payments' | 'notifications';

function urlOf(runDir: string, processes: readonly ProcessStatus[], db: Db): string {
  const p = processes.find((x) => x.name === `pg-${db}`);
  if (!p?.port) throw new Error(`pg-${db} is not part of the run`);
  const credentials = JSON.parse(readFileSync(path.join(runDir, `pg-${db}`, 'credentials.json'), 'utf8')) as {
    roles: Record<string, string>;
  };
  const password = credentials.roles[db];
  if (password === undefined) throw new Error(`no password for role ${db} in pg-${db}/credentials.json`);
  return `postgres://${db}:${encodeURIComponent(password)}@127.0.0.1:${p.port}/${db}`;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 3_000,
    statement_timeout: 10_000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A seeded product's stock at the seed (catalog migration 002), as SQL over its id column. */
const SEED_STOCK_SQL = (id: string) => `(100 + ((substring(${id} from 5)::int * 53) % 400))`;

/**
 * Tops every seeded product below its seed stock back up to it, each top-up
 * recorded in `restocks` by the same statement (one statement is one
 * transaction: the stock invariant adds them). Run before every drill:
 * fifteen short drills on one platform (npm test) order thousands of
 * products, and a product sold out turns orders into 409s the drill would
 * count as failures of the mechanism under test. Returns how many products
 * were topped up.
 */
export async function restockCatalog(runDir: string, processes: readonly ProcessStatus[]): Promise<number> {
  return withClient(urlOf(runDir, processes, 'catalog'), async (c) => {
    const { rowCount } = await c.query(
      `WITH low AS (
         SELECT id, ${SEED_STOCK_SQL('id')} - stock AS add
           FROM products
          WHERE id ~ '^sku-[0-9]{4}$' AND stock < ${SEED_STOCK_SQL('id')}
            FOR UPDATE),
       added AS (INSERT INTO restocks (product_id, quantity) SELECT id, add FROM low)
       UPDATE products p SET stock = p.stock + low.add, updated_at = now() FROM low WHERE p.id = low.id`,
    );
    return rowCount ?? 0;
  });
}

export interface InvariantOptions {
  runDir: string;
  processes: readonly ProcessStatus[];
  testId: string;
  /** 202s the drill counted. */
  accepted: number;
  /** Ids of the orders answered 202, when the script logged them. */
  acceptedIds?: readonly string[];
  /** Dead letters per stream before the drill (streamSnapshot); checks the streams when given. */
  streamsBefore?: StreamSnapshot;
  /** How long orders may take to settle (default 60 s). */
  settleMs?: number;
}

interface OrderRow {
  id: string;
  status: string;
  reservation_id: string;
}

export async function checkInvariants(options: InvariantOptions): Promise<InvariantReport> {
  const url = (db: Db) => urlOf(options.runDir, options.processes, db);
  const prefix = `drill-${options.testId}-%`;
  const results: InvariantResult[] = [];
  const started = Date.now();
  const settleDeadline = started + (options.settleMs ?? 60_000);

  // Settle: orders final and their notifications written (both lag behind the drill).
  let orders: OrderRow[] = [];
  let notified = new Map<string, number>();
  let settleMs: number | undefined;
  for (let i = 0; i < 1_000; i++) {
    orders = await withClient(
      url('orders'),
      async (c) =>
        (
          await c.query<OrderRow>('SELECT id, status, reservation_id FROM orders WHERE customer_id LIKE $1', [
            prefix,
          ])
        ).rows,
    );
    const ids = orders.map((o) => o.id);
    notified = await withClient(url('notifications'), async (c) => {
      const rows = (
        await c.query<{ order_id: string; n: string }>(
          'SELECT order_id, count(*) AS n FROM notifications WHERE order_id = ANY($1::uuid[]) GROUP BY order_id',
          [ids],
        )
      ).rows;
      return new Map(rows.map((r) => [r.order_id, Number(r.n)]));
    });
    const pending = orders.filter((o) => o.status === 'PENDING_PAYMENT').length;
    const unnotified = orders.filter((o) => o.status !== 'PENDING_PAYMENT' && !notified.has(o.id)).length;
    if (pending === 0 && unnotified === 0) {
      settleMs = Date.now() - started;
      break;
    }
    if (Date.now() >= settleDeadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  const stored = new Set(orders.map((o) => o.id));
  const lost = (options.acceptedIds ?? []).filter((id) => !stored.has(id));
  results.push({
    name: 'no accepted order lost',
    ok: orders.length >= options.accepted && lost.length === 0,
    detail: `${options.accepted} accepted (202), ${orders.length} in the orders database${
      options.acceptedIds
        ? `; ${options.acceptedIds.length} accepted ids checked, missing ${lost.length}${lost.length ? ` (${lost.slice(0, 3).join(', ')})` : ''}`
        : ''
    }`,
  });
  const pending = orders.filter((o) => o.status === 'PENDING_PAYMENT');
  results.push({
    name: 'every order final',
    ok: pending.length === 0,
    detail:
      pending.length === 0
        ? `${orders.length} final${settleMs !== undefined ? ` ${(settleMs / 1000).toFixed(1)} s after the drill` : ''}`
        : `${pending.length} of ${orders.length} still PENDING_PAYMENT after ${((options.settleMs ?? 60_000) / 1000).toFixed(0)} s`,
  });

  const ids = orders.map((o) => o.id);
  const payments = await withClient(url('payments'), async (c) => ({
    perOrder: (
      await c.query<{ order_id: string; n: string; captured: string }>(
        `SELECT order_id, count(*) AS n, count(*) FILTER (WHERE status = 'CAPTURED') AS captured
           FROM payments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
        [ids],
      )
    ).rows,
    doubledAnywhere: Number(
      (
        await c.query<{ n: string }>(
          'SELECT count(*) AS n FROM (SELECT order_id FROM payments GROUP BY order_id HAVING count(*) > 1) d',
        )
      ).rows[0]?.n ?? 0,
    ),
  }));
  const orphans = await withClient(
    url('payments'),
    async (c) =>
      (
        await c.query<{ order_id: string; status: string }>(
          `SELECT order_id, status FROM payments WHERE customer_id LIKE $1 AND NOT (order_id = ANY($2::uuid[]))`,
          [prefix, ids],
        )
      ).rows,
  );
  results.push({
    name: 'no payment without an order',
    ok: orphans.length === 0,
    detail:
      orphans.length === 0
        ? "every payment of the run's customers has its order"
        : `${orphans.length} payments without an order (${orphans.filter((o) => o.status === 'CAPTURED').length} captured), e.g. order ${orphans[0]?.order_id}`,
  });
  const capturedBy = new Map(payments.perOrder.map((r) => [r.order_id, Number(r.captured)]));
  const twice = payments.perOrder.filter((r) => Number(r.n) > 1 || Number(r.captured) > 1).length;
  const confirmedUncharged = orders.filter(
    (o) => o.status === 'CONFIRMED' && capturedBy.get(o.id) !== 1,
  ).length;
  const cancelledCharged = orders.filter(
    (o) => o.status === 'CANCELLED' && (capturedBy.get(o.id) ?? 0) > 0,
  ).length;
  results.push({
    name: 'none charged twice',
    ok: twice === 0 && payments.doubledAnywhere === 0 && confirmedUncharged === 0 && cancelledCharged === 0,
    detail: `${payments.perOrder.length} payments for ${orders.length} orders; charged twice ${twice}; confirmed without one capture ${confirmedUncharged}; cancelled yet captured ${cancelledCharged}`,
  });

  const final = orders.filter((o) => o.status !== 'PENDING_PAYMENT');
  const missing = final.filter((o) => !notified.has(o.id)).length;
  const doubled = [...notified.values()].filter((n) => n > 1).length;
  results.push({
    name: 'no notification missing or doubled',
    ok: missing === 0 && doubled === 0,
    detail: `${final.length} final orders; missing ${missing}; doubled ${doubled}`,
  });

  const stock = await withClient(url('catalog'), async (c) => {
    const drift = (
      await c.query<{ id: string; stock: number; held: string; seed: number }>(
        `SELECT p.id, p.stock, coalesce(h.held, 0) AS held,
                ${SEED_STOCK_SQL('p.id')} + coalesce(rs.restocked, 0) AS seed
           FROM products p
           LEFT JOIN (SELECT ri.product_id, sum(ri.quantity) AS held
                        FROM reservation_items ri JOIN reservations r ON r.id = ri.reservation_id
                       WHERE r.status = 'held' GROUP BY ri.product_id) h ON h.product_id = p.id
           LEFT JOIN (SELECT product_id, sum(quantity) AS restocked FROM restocks GROUP BY product_id) rs
                  ON rs.product_id = p.id
          WHERE p.id ~ '^sku-[0-9]{4}$'`,
      )
    ).rows.filter((r) => Number(r.seed) - Number(r.held) !== r.stock);
    const cancelled = orders.filter((o) => o.status === 'CANCELLED').map((o) => o.reservation_id);
    const stillHeld = Number(
      (
        await c.query<{ n: string }>(
          `SELECT count(*) AS n FROM reservations WHERE status = 'held' AND id = ANY($1::uuid[])`,
          [cancelled],
        )
      ).rows[0]?.n ?? 0,
    );
    return { drift, stillHeld };
  });
  results.push({
    name: 'stock consistent',
    ok: stock.drift.length === 0 && stock.stillHeld === 0,
    detail:
      stock.drift.length === 0 && stock.stillHeld === 0
        ? 'seed − held reservations = stock for all 40 products; no cancelled order holds stock'
        : `${stock.drift.length} products drifted (${stock.drift
            .slice(0, 3)
            .map((d) => `${d.id}: seed ${d.seed} − held ${d.held} ≠ ${d.stock}`)
            .join('; ')}); ${stock.stillHeld} cancelled orders still hold stock`,
  });

  if (options.streamsBefore) {
    const deadline = Math.max(settleDeadline, Date.now() + 10_000);
    let now = await streamSnapshot(redisUrlOf(options.processes));
    for (let i = 0; i < 200 && now.pending > 0 && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 500));
      now = await streamSnapshot(redisUrlOf(options.processes));
    }
    const deadLettered = Object.entries(now.deadLetters)
      .map(([stream, n]) => [stream, n - (options.streamsBefore?.deadLetters[stream] ?? 0)] as const)
      .filter(([, n]) => n > 0);
    results.push({
      name: 'consumer groups and pending entries intact',
      ok: now.missingGroups.length === 0 && now.pending === 0 && deadLettered.length === 0,
      detail: `groups missing: ${now.missingGroups.join(', ') || 'none'}; pending after settle ${now.pending}; dead-lettered during the drill ${
        deadLettered.map(([s, n]) => `${s} ${n}`).join(', ') || '0'
      }`,
    });
  }

  return { results, orders: orders.length, ...(settleMs !== undefined ? { settleMs } : {}) };
}

/** The saga's streams and the consumer groups on each (services/*: events/). */
export const SAGA_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'bw:orders': ['payments', 'notifications'],
  'bw:payments': ['orders'],
};

export interface StreamSnapshot {
  /** `stream/group` of expected groups that do not exist. */
  missingGroups: string[];
  /** Entries pending in every expected group together. */
  pending: number;
  /** Length of each dead-letter stream (`<stream>:dlq:<group>`). */
  deadLetters: Record<string, number>;
}

export function redisUrlOf(processes: readonly ProcessStatus[]): string {
  const redis = processes.find((p) => p.name === 'redis');
  if (!redis?.port) throw new Error('redis is not part of the run');
  return `redis://127.0.0.1:${redis.port}`;
}

/** Groups, pending entries and dead letters of the saga's streams, read from Redis. */
export async function streamSnapshot(redisUrl: string): Promise<StreamSnapshot> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3_000, lazyConnect: true });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const out: StreamSnapshot = { missingGroups: [], pending: 0, deadLetters: {} };
    for (const [stream, groups] of Object.entries(SAGA_GROUPS)) {
      const info = ((await redis.exists(stream)) ? await redis.xinfo('GROUPS', stream) : []) as unknown[][];
      const byName = new Map(
        info.map((g) => {
          const i = g.indexOf('name');
          const p = g.indexOf('pending');
          return [String(g[i + 1]), Number(g[p + 1] ?? 0)] as const;
        }),
      );
      for (const group of groups) {
        const pending = byName.get(group);
        if (pending === undefined) out.missingGroups.push(`${stream}/${group}`);
        else out.pending += pending;
        const dlq = `${stream}:dlq:${group}`;
        out.deadLetters[dlq] = Number(await redis.xlen(dlq));
      }
    }
    return out;
  } finally {
    redis.disconnect();
  }
}
