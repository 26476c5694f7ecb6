import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config.ts';
import { RateLimiter, type RequestIdentity } from '../src/rate-limit.ts';
import { rateLimitHeaders } from '../src/rate-limit-headers.ts';

const baseDoc = (rateLimits: unknown[]) => ({
  version: 1,
  upstreams: {
    svc: { timeoutMs: 100, retry: { maxRetries: 0 } },
  },
  routes: [{ name: 'r', path: '/r', methods: ['GET'], upstream: 'svc' }],
  consumers: [{ name: 'alice', apiKeys: ['alice-key-0123456789'] }],
  rateLimits,
});

const who = (consumer?: string): RequestIdentity => ({
  route: 'r',
  consumer,
  ip: '127.0.0.1',
  path: '/r',
  header: () => undefined,
});

let redis: RedisHandle;
const clients: Redis[] = [];
const client = () => {
  const c = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200 });
  clients.push(c);
  return c;
};
const ready = (c: Redis) =>
  c.status === 'ready' ? Promise.resolve() : new Promise<void>((r) => c.once('ready', () => r()));

/**
 * The single policy `doc` and `n` limiters sharing one key prefix (`name`,
 * made unique per run), once every client is ready.
 */
async function limitersFor<N extends 1 | 2>(name: string, doc: Record<string, unknown>, n: N) {
  const cfg = validateConfig(baseDoc([doc]));
  const keyPrefix = `${name}:${Date.now()}:`;
  const limiters = Array.from(
    { length: n },
    () => new RateLimiter({ redis: client(), keyPrefix, policies: cfg.rateLimits }),
  );
  await Promise.all(clients.map(ready));
  const policy = cfg.rateLimits[0];
  if (!policy) throw new Error('no policy');
  return [policy, ...limiters] as N extends 1
    ? [typeof policy, RateLimiter]
    : [typeof policy, RateLimiter, RateLimiter];
}

/** A fixed-window hourly limit on alice, counted per consumer. */
const aliceHourly = (name: string, hour: number) =>
  ({ name, consumer: 'alice', window: 'fixed', limits: { hour }, limitBy: 'consumer' }) as const;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

describe('RateLimiter against a real Redis', () => {
  it('fixed: two limiters sharing Redis admit exactly the limit, then refuse with Retry-After ≥ reset', async () => {
    const [policy, a, b] = await limitersFor('t1', aliceHourly('p', 50), 2);
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).decide(policy, who('alice'))),
    );
    expect(results.map((d) => d.source)).not.toContain('local');
    expect(results.filter((d) => d.allowed)).toHaveLength(50);
    const remaining = results.filter((d) => d.allowed).map((d) => d.windows[0]?.remaining);
    expect(new Set(remaining).size).toBe(50); // every admitted request saw a distinct count
    expect(Math.min(...(remaining as number[]))).toBe(0);
    const refused = results.find((d) => !d.allowed);
    if (!refused) throw new Error('expected a refusal');
    const h = rateLimitHeaders(refused);
    expect(Number(h['retry-after'])).toBeGreaterThanOrEqual(
      Math.ceil((refused.windows[0]?.resetMs ?? 0) / 1000),
    );
    expect(h['ratelimit-policy']).toBe('"per-hour";q=50;w=3600');
    expect(h.ratelimit).toMatch(/^"per-hour";r=0;t=\d+$/);
  });

  it('sliding (GCRA): admits the quota as a burst, then one more after one emission interval', async () => {
    const sliding = { name: 'g', route: 'r', window: 'sliding', limits: { second: 10 }, limitBy: 'ip' };
    const [policy, rl] = await limitersFor('t2', sliding, 1);
    const burst = [];
    for (let i = 0; i < 12; i++) burst.push(await rl.decide(policy, who()));
    expect(burst.filter((d) => d.allowed)).toHaveLength(10);
    const last = burst.at(-1);
    expect(last?.allowed).toBe(false);
    expect(last?.windows[0]?.resetMs).toBeLessThanOrEqual(100);
    const deadline = Date.now() + 2_000;
    let next = await rl.decide(policy, who());
    while (!next.allowed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      next = await rl.decide(policy, who());
    }
    expect(next.allowed).toBe(true);
  });

  it('a live override written by one limiter is used by another on its very next decision', async () => {
    const [policy, a, b] = await limitersFor('t3', aliceHourly('o', 1000), 2);
    await b.decide(policy, who('alice'));
    await a.setOverride('o', { hour: 2 });
    const d1 = await b.decide(policy, who('alice'));
    expect(d1.windows[0]?.limit).toBe(2);
    expect(d1.allowed).toBe(true);
    expect((await b.decide(policy, who('alice'))).allowed).toBe(false);
    expect(b.effectiveLimits(policy).hour).toBe(2);
    await expect(a.setOverride('o', { minute: 5 })).rejects.toMatchObject({
      code: 'GW_ERR_ADMIN_BAD_PAYLOAD',
    });
    await expect(a.setOverride('o', { hour: -1 })).rejects.toMatchObject({
      code: 'GW_ERR_ADMIN_BAD_PAYLOAD',
    });
    expect((await b.decide(policy, who('alice'))).windows[0]?.limit).toBe(2);
  });

  it('limits by header value (falling back to the client IP) and by path, each key counted apart', async () => {
    const cfg = validateConfig(
      baseDoc([
        { name: 'h', route: 'r', limits: { hour: 2 }, limitBy: 'header', header: 'X-Tenant' },
        { name: 'p', consumer: 'alice', limits: { hour: 1 }, limitBy: 'path' },
      ]),
    );
    const rl = new RateLimiter({ redis: client(), keyPrefix: `t4:${Date.now()}:`, policies: cfg.rateLimits });
    await Promise.all(clients.map(ready));
    const [h, p] = cfg.rateLimits;
    if (!h || !p) throw new Error('no policies');
    const tenant = (v: string | undefined) => ({
      ...who(),
      header: (n: string) => (n === 'x-tenant' ? v : undefined),
    });
    const a = [];
    for (let i = 0; i < 3; i++) a.push((await rl.decide(h, tenant('a'))).allowed);
    expect(a).toEqual([true, true, false]);
    expect((await rl.decide(h, tenant('b'))).allowed).toBe(true);
    expect((await rl.decide(h, tenant(undefined))).allowed).toBe(true); // keyed by IP instead
    const at = (path: string) => ({ ...who('alice'), path });
    expect((await rl.decide(p, at('/r/1'))).allowed).toBe(true);
    expect((await rl.decide(p, at('/r/1'))).allowed).toBe(false);
    expect((await rl.decide(p, at('/r/2'))).allowed).toBe(true);
  });

  it('decides the requests of one event-loop turn in one script call, each seeing the counts before it', async () => {
    const [fixed, limiter] = await limitersFor('t-batch', aliceHourly('batch', 10), 1);
    const sliding = validateConfig(
      baseDoc([{ name: 'batch-gcra', route: 'r', window: 'sliding', limits: { minute: 5 }, limitBy: 'ip' }]),
    ).rateLimits[0];
    if (!sliding) throw new Error('no policy');
    const stats = client();
    await ready(stats);
    const calls = async () => {
      const info = await stats.info('commandstats');
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    await limiter.decide(fixed, who('alice')); // loads the script (EVAL once, then EVALSHA)
    const before = await calls();
    // Issued together: two policies, several identities, one batch.
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => limiter.decide(fixed, who('alice'))),
      ...Array.from({ length: 7 }, () => limiter.decide(sliding, who())),
    ]);
    expect((await calls()) - before).toBe(1);
    const fixedResults = results.slice(0, 12);
    expect(fixedResults.map((d) => d.allowed)).toEqual([...Array(9).fill(true), false, false, false]);
    expect(fixedResults.map((d) => d.windows[0]?.remaining)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0]);
    expect(results.slice(12).filter((d) => d.allowed)).toHaveLength(5);
    expect(results.map((d) => d.source)).not.toContain('local');
  });

  it('picks the most specific policy: route and consumer, then consumer, then route', () => {
    const cfg = validateConfig(
      baseDoc([
        { name: 'route-only', route: 'r', limits: { hour: 1 } },
        { name: 'consumer-only', consumer: 'alice', limits: { hour: 1 } },
        { name: 'both', route: 'r', consumer: 'alice', limits: { hour: 1 } },
      ]),
    );
    const rl = new RateLimiter({ redis: client(), keyPrefix: 'unused:', policies: cfg.rateLimits });
    expect(rl.select('r', 'alice')?.name).toBe('both');
    expect(rl.select('other', 'alice')?.name).toBe('consumer-only');
    expect(rl.select('r', undefined)?.name).toBe('route-only');
    expect(rl.select('other', undefined)).toBeUndefined();
  });
});

describe('rate-limit response fields', () => {
  const policy = (hideClientHeaders: boolean) =>
    validateConfig(
      baseDoc([
        { name: 'x', route: 'r', window: 'sliding', limits: { second: 10, minute: 100 }, hideClientHeaders },
      ]),
    ).rateLimits[0] as NonNullable<ReturnType<typeof validateConfig>['rateLimits'][number]>;
  const windows = [
    { name: 'second', seconds: 1, limit: 10, remaining: 0, resetMs: 100, blocking: true },
    { name: 'minute', seconds: 60, limit: 100, remaining: 0, resetMs: 42_500, blocking: true },
  ];

  it('sends the IETF fields always, Kong’s unless hidden, and Retry-After no earlier than the longest refusing reset', () => {
    const shown = rateLimitHeaders({ allowed: false, policy: policy(false), windows, source: 'redis' });
    expect(shown['ratelimit-policy']).toBe('"per-second";q=10;w=1, "per-minute";q=100;w=60');
    expect(shown.ratelimit).toBe('"per-second";r=0;t=1, "per-minute";r=0;t=43');
    expect(shown['ratelimit-limit']).toBe('100'); // tie on remaining: the one that resets last
    expect(shown['ratelimit-reset']).toBe('43');
    expect(shown['X-RateLimit-Limit-Second']).toBe('10');
    expect(shown['X-RateLimit-Remaining-Minute']).toBe('0');
    expect(shown['retry-after']).toBe('43');
    const hidden = rateLimitHeaders({ allowed: true, policy: policy(true), windows, source: 'redis' });
    expect(Object.keys(hidden).sort()).toEqual(['ratelimit', 'ratelimit-policy']);
  });
});
