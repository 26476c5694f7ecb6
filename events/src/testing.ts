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
 *   client, as a service's main.ts would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
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
