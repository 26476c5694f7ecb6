/**
 * PostgreSQL for a data-owning service: a pool that fails fast (an outage
 * must turn into a quick error the caller can degrade on, not a hung
 * request), and versioned SQL migrations run by node-pg-migrate from the
 * service's `migrations/` folder. The outbox and inbox tables the event
 * layer needs are created by those migrations (outbox.ts and inbox.ts
 * describe them).
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { type EventLogger, silentLogger } from './logger.ts';

/** What a transaction's body may decide besides committing. */
export interface Transaction {
  /** End with ROLLBACK instead of COMMIT when the body returns; the body's value is still returned. */
  rollback(): void;
}

/**
 * Runs `fn` on one pooled client between BEGIN and COMMIT: the one place the
 * services and the outbox relay open a transaction. ROLLBACK when `fn` throws
 * (the error is rethrown) or calls `tx.rollback()`. The client goes back to
 * the pool, or is discarded when even ROLLBACK failed (its state is unknown).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient, tx: Transaction) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let rollback = false;
  try {
    await client.query('BEGIN');
    const value = await fn(client, {
      rollback: () => {
        rollback = true;
      },
    });
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    client.release();
    return value;
  } catch (err) {
    const clean = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    client.release(clean ? undefined : (err as Error));
    throw err;
  }
}

export interface PgPoolOptions {
  /** Connections. Default 10. */
  max?: number;
  /** Wait for a connection, ms. Default 1_000. */
  connectionTimeoutMs?: number;
  /** Server-side statement_timeout, ms. Default 2_000. */
  statementTimeoutMs?: number;
  /** Client-side query timeout, ms. Default statementTimeoutMs + 500. */
  queryTimeoutMs?: number;
  applicationName?: string;
  log?: EventLogger;
}

export function createPgPool(databaseUrl: string, o: PgPoolOptions = {}): pg.Pool {
  const statement = o.statementTimeoutMs ?? 2_000;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: o.max ?? 10,
    connectionTimeoutMillis: o.connectionTimeoutMs ?? 1_000,
    idleTimeoutMillis: 10_000,
    statement_timeout: statement,
    query_timeout: o.queryTimeoutMs ?? statement + 500,
    application_name: o.applicationName ?? 'breakwater',
  });
  // An idle client whose server went away emits 'error' on the pool; without
  // a listener that would crash the process.
  const log = o.log ?? silentLogger;
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle postgres client error'));
  // A server shutdown (57P01) reaches a checked-out client as an 'error'
  // event too; the query in flight fails on its own, the event must not crash us.
  pool.on('connect', (client) => {
    client.on('error', (err) => log.debug({ err: err.message }, 'postgres client error'));
  });
  return pool;
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Folder of `NNN_name.sql` files (`-- Up Migration` / `-- Down Migration` sections), a path or file: URL. */
  dir: string | URL;
  direction?: 'up' | 'down';
  /** For `down`: how many to undo. Default 1. */
  count?: number;
  log?: EventLogger;
}

/** Runs pending migrations (node-pg-migrate, with its advisory lock); returns the names run. */
export async function runMigrations(o: MigrateOptions): Promise<string[]> {
  const dir = o.dir instanceof URL ? fileURLToPath(o.dir) : o.dir;
  const log = o.log ?? silentLogger;
  const direction = o.direction ?? 'up';
  const ran = await runner({
    databaseUrl: o.databaseUrl,
    dir,
    direction,
    migrationsTable: 'pgmigrations',
    ...(direction === 'down' ? { count: o.count ?? 1 } : {}),
    singleTransaction: true,
    checkOrder: true,
    // Several replicas may start at once: the second waits for the first's migrations instead of failing.
    advisoryLockMode: 'wait',
    log: (msg: string) => log.debug({ msg }, 'migration'),
    logger: {
      debug: (m: string) => log.debug({ m }, 'migration'),
      info: (m: string) => log.debug({ m }, 'migration'),
      warn: (m: string) => log.warn({ m }, 'migration'),
      error: (m: string) => log.error({ m }, 'migration'),
    },
  });
  return ran.map((m) => m.name);
}

/**
 * The command behind `node services/<name>/src/migrate.ts [up|down [count]]`:
 * runs the service's migrations against DATABASE_URL.
 */
export async function migrateCli(dir: URL, argv: string[] = process.argv.slice(2)): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('DATABASE_URL is required');
    process.exitCode = 2;
    return;
  }
  const direction = argv[0] === 'down' ? 'down' : 'up';
  if (argv[0] !== undefined && argv[0] !== 'up' && argv[0] !== 'down') {
    console.error(`unknown direction ${argv[0]} (up or down)`);
    process.exitCode = 2;
    return;
  }
  const count = argv[1] === undefined ? undefined : Number(argv[1]);
  const names = await runMigrations({
    databaseUrl,
    dir,
    direction,
    ...(count === undefined ? {} : { count }),
  });
  console.log(JSON.stringify({ direction, migrations: names }));
}
