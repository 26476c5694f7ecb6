/**
 * Test helpers for event workers (no vitest, no harness: plain Node).
 *
 * - `until` polls with a deadline instead of sleeping;
 * - `startHookedWorker` runs a service's `main.ts` as a child process with
 *   `BW_TEST_HOOKS=1` and resolves with the first `{"bw_test_hook":…}` line
 *   it prints (consumer.ts `testHooksFromEnv`), which says the worker is
 *   paused where the test wants to kill it;
 * - `killHard` SIGKILLs it and waits for the exit;
 * - `openTestStores` opens a (migrated) database's pool and a ready Redis
 *   client, as a service's main.ts would;
 * - `deliverAndSettle` puts an event on its stream as the outbox relay does
 *   and waits until a consumer group acknowledged it (the message pacts'
 *   consumer side feeds a service's real consumer this way);
 * - `outboxEvent` reads the event a producer's store wrote to its outbox
 *   (what the message pacts' provider side verifies).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { listDeadLetters } from './dead-letters.ts';
import type { EventEnvelope } from './envelope.ts';
import { streamEntryFields } from './outbox.ts';
import { createPgPool, type PgPoolOptions, runMigrations } from './postgres.ts';
import { createStreamRedis, type StreamRedisOptions, waitReady } from './redis.ts';
import type { ServiceStores } from './service-stores.ts';

/** Polls `fn` every 50 ms until it returns a value other than undefined/false (errors count as not yet); throws after `timeoutMs` (default 15 s). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The line a paused consumer prints (consumer.ts `testHooksFromEnv`). */
export interface TestHookLine {
  bw_test_hook: string;
  entries: string[];
  pid: number;
}

export interface HookedWorker {
  child: ChildProcess;
  /** The first test-hook line; rejects (with the worker's stderr) when the worker exits before it. */
  hook: Promise<TestHookLine>;
}

/**
 * Starts `node <main>` with only PATH, `PORT=0`, `LOG_LEVEL=warn`,
 * `BW_TEST_HOOKS=1` and `env` (which wins). A SIGKILL of the child is pushed
 * onto `cleanup`, so a test that fails midway leaves no worker behind;
 * `name` is the worker's name in the error.
 */
export function startHookedWorker(
  main: string,
  env: Record<string, string>,
  o: { name: string; cleanup: (() => unknown)[] },
): HookedWorker {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'warn', BW_TEST_HOOKS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  o.cleanup.push(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const hook = new Promise<TestHookLine>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d) => {
      buf += String(d);
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"bw_test_hook"')) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`${o.name} exited (${code}) before its hook: ${stderr}`)));
  });
  return { child, hook };
}

/** SIGKILLs `child` and resolves once it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export interface OpenTestStoresOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Migrations to run first (default: none). */
  migrationsDir?: URL;
  pg?: PgPoolOptions;
  redis?: StreamRedisOptions;
  /** When given, closing the pool and the client is pushed onto it (leave out when an app's shutdown closes them). */
  cleanup?: (() => unknown)[];
}

/** A pool on `databaseUrl` (after its migrations) and a Redis client on `redisUrl` that is ready. */
export async function openTestStores(o: OpenTestStoresOptions): Promise<ServiceStores> {
  if (o.migrationsDir !== undefined)
    await runMigrations({ databaseUrl: o.databaseUrl, dir: o.migrationsDir });
  const pool = createPgPool(o.databaseUrl, o.pg);
  const redis = createStreamRedis(o.redisUrl, o.redis);
  await waitReady(redis);
  o.cleanup?.push(
    () => pool.end(),
    () => redis.disconnect(),
  );
  return { pool, redis };
}

export interface DeliverOptions {
  stream: string;
  /** The consumer group whose handling is awaited. */
  group: string;
  /** Default 15 s. */
  timeoutMs?: number;
}

/**
 * Puts `event` on its stream as the outbox relay does and waits until
 * `group` has handled and acknowledged it. Rejects with the dead letter's
 * reason and detail when the consumer refused it (an envelope or `data` it
 * cannot read, a permanent handler error), or when it is still pending at the
 * deadline (the handler keeps failing: the service's log says why).
 */
export async function deliverAndSettle(
  redis: Redis,
  event: EventEnvelope,
  o: DeliverOptions,
): Promise<string> {
  const entryId = (await redis.xadd(o.stream, '*', ...streamEntryFields(event))) as string;
  const dlq = `${o.stream}:dlq:${o.group}`;
  const outcome = await until(
    `${o.group} to acknowledge ${event.type} ${event.id} (entry ${entryId})`,
    async () => {
      const dead = (await listDeadLetters(redis, dlq)).find((d) => d.entryId === entryId);
      if (dead) return dead;
      const groups = (await redis.xinfo('GROUPS', o.stream)) as unknown[][];
      const info = groups.map((g) => toMap(g)).find((g) => g.get('name') === o.group);
      const lastDelivered = String(info?.get('last-delivered-id') ?? '0-0');
      if (compareEntryIds(lastDelivered, entryId) < 0) return false;
      const pending = (await redis.xpending(o.stream, o.group, entryId, entryId, 1)) as unknown[];
      return pending.length === 0 && ('acknowledged' as const);
    },
    o.timeoutMs,
  );
  if (outcome !== 'acknowledged')
    throw new Error(`${o.group} dead-lettered ${event.type}: ${outcome.reason}: ${outcome.detail}`);
  return entryId;
}

const toMap = (flat: unknown[]) => {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
  return m;
};

/** Orders two stream entry ids (`<ms>-<seq>`). */
function compareEntryIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/**
 * The outbox row of the event of `type` about `orderId` (its `data.orderId`),
 * as the relay would publish it: the stream and the envelope. Undefined when
 * there is none. The message pacts' provider side reads what a producer wrote.
 */
export async function outboxEvent(
  pool: pg.Pool,
  type: string,
  orderId: string,
): Promise<{ stream: string; event: EventEnvelope } | undefined> {
  const { rows } = await pool.query<{ stream: string; payload: EventEnvelope }>(
    `SELECT stream, payload FROM outbox WHERE type = $1 AND payload->'data'->>'orderId' = $2 ORDER BY id DESC LIMIT 1`,
    [type, orderId],
  );
  const row = rows[0];
  return row ? { stream: row.stream, event: row.payload } : undefined;
}

/**
 * A message pact's consumer callback (`{ contents, metadata }`, as Pact
 * hands a message over): delivers the content to `group` on the stream the
 * message's `stream` metadata names, with deliverAndSettle.
 */
export function deliverTo(redis: Redis, group: string) {
  return (m: { contents: unknown; metadata?: Record<string, unknown> }): Promise<string> => {
    const stream = m.metadata?.stream;
    if (typeof stream !== 'string') throw new Error('the message names no stream in its metadata');
    return deliverAndSettle(redis, m.contents as EventEnvelope, { stream, group });
  };
}
