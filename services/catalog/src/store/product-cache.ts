/**
 * Cache-aside for catalog reads in Redis, with two keys per entry:
 *
 *   catalog:v1:fresh:<key>  TTL cacheTtlMs  — served as a hit
 *   catalog:v1:stale:<key>  TTL staleTtlMs  — served only when PostgreSQL
 *                                             cannot answer (marked stale)
 *
 * so a stale copy survives long after the fresh TTL. Every Redis failure is
 * swallowed into a 'bypass' (reads go to PostgreSQL): the cache is an
 * optimisation and a fallback, never a dependency.
 */
import type { Redis } from 'ioredis';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass';

export interface Cached<T> {
  value: T;
  result: CacheResult;
  /** For stale copies: seconds since the copy was stored. */
  ageS?: number;
}

interface StoredEntry<T> {
  v: T;
  /** Stored at, epoch ms. */
  at: number;
}

export interface ProductCacheOptions {
  freshTtlMs: number;
  staleTtlMs: number;
  prefix?: string;
}

export class ProductCache {
  readonly #redis: Redis;
  readonly #o: Required<ProductCacheOptions>;

  constructor(redis: Redis, o: ProductCacheOptions) {
    this.#redis = redis;
    this.#o = { prefix: 'catalog:v1', ...o };
  }

  #fresh(key: string): string {
    return `${this.#o.prefix}:fresh:${key}`;
  }
  #stale(key: string): string {
    return `${this.#o.prefix}:stale:${key}`;
  }

  /**
   * The value for `key`: from the fresh copy, else from `load` (then stored),
   * else — when `load` throws a source failure — from the stale copy. Errors
   * `load` throws that `isSourceFailure` does not accept (e.g. validation)
   * pass through untouched; a source failure with no stale copy is rethrown.
   */
  async read<T>(
    key: string,
    load: () => Promise<T>,
    isSourceFailure: (err: unknown) => boolean,
    cacheable: (v: T) => boolean = () => true,
  ): Promise<Cached<T>> {
    let redisUp = true;
    try {
      const hit = await this.#redis.get(this.#fresh(key));
      if (hit !== null) return { value: (JSON.parse(hit) as StoredEntry<T>).v, result: 'hit' };
    } catch {
      redisUp = false;
    }
    let value: T;
    try {
      value = await load();
    } catch (err) {
      if (!isSourceFailure(err) || !redisUp) throw err;
      const stale = await this.#redis.get(this.#stale(key)).catch(() => null);
      if (stale === null) throw err;
      const entry = JSON.parse(stale) as StoredEntry<T>;
      return {
        value: entry.v,
        result: 'stale',
        ageS: Math.max(0, Math.round((Date.now() - entry.at) / 1000)),
      };
    }
    if (redisUp && cacheable(value)) {
      const text = JSON.stringify({ v: value, at: Date.now() } satisfies StoredEntry<T>);
      await this.#redis
        .multi()
        .set(this.#fresh(key), text, 'PX', this.#o.freshTtlMs)
        .set(this.#stale(key), text, 'PX', this.#o.staleTtlMs)
        .exec()
        .catch(() => {});
    }
    return { value, result: redisUp ? 'miss' : 'bypass' };
  }

  /** Drops the fresh copies of `keys` (best effort); stale copies stay as the fallback. */
  async invalidate(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#redis.del(...keys.map((k) => this.#fresh(k))).catch(() => {});
  }
}
