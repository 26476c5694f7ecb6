/**
 * Redis connections for the event layer, configured to fail fast: while Redis
 * is unreachable a command is rejected at once (no offline queue) or after
 * `commandTimeoutMs`, so relays and consumers notice, back off and retry
 * instead of piling promises up behind a dead socket. Reconnection continues
 * in the background (capped backoff).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { EventLogger } from './logger.ts';

export interface StreamRedisOptions {
  /** Per-command timeout, ms. Default 2_000. */
  commandTimeoutMs?: number;
  /** Connect timeout, ms. Default 1_000. */
  connectTimeoutMs?: number;
  /** Largest pause between reconnect attempts, ms. Default 1_000. */
  maxReconnectDelayMs?: number;
  /** Name shown by CLIENT LIST. */
  connectionName?: string;
  log?: EventLogger;
}

export function streamRedisOptions(o: StreamRedisOptions = {}): RedisOptions {
  const maxDelay = o.maxReconnectDelayMs ?? 1_000;
  const opts: RedisOptions = {
    commandTimeout: o.commandTimeoutMs ?? 2_000,
    connectTimeout: o.connectTimeoutMs ?? 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
  };
  if (o.connectionName !== undefined) opts.connectionName = o.connectionName;
  return opts;
}

/** A fail-fast client for `url` (`redis://host:port[/db]`). */
export function createStreamRedis(url: string, o: StreamRedisOptions = {}): Redis {
  const redis = new Redis(url, streamRedisOptions(o));
  let lastLogged = 0;
  // Without a listener ioredis prints every reconnect failure; log at most once every 5 s.
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 5_000) {
      lastLogged = now;
      o.log?.warn({ err: err.message, connection: o.connectionName }, 'redis connection error');
    }
  });
  return redis;
}

/**
 * Resolves once `redis` is ready. Rejects after `timeoutMs` — unless a
 * `signal` is given, in which case it resolves quietly on timeout or abort
 * (for loops that handle a missing connection themselves).
 */
export async function waitReady(redis: Redis, timeoutMs = 5_000, signal?: AbortSignal): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(t);
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      if (err && !signal) reject(err);
      else resolve();
    };
    const onReady = () => finish();
    const onAbort = () => finish();
    const t = setTimeout(
      () => finish(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`)),
      timeoutMs,
    );
    redis.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
