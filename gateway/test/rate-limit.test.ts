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

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

describe('RateLimiter against a real Redis', () => {
  it('fixed: two limiters sharing Redis admit exactly the limit, then refuse with Retry-After ≥ reset', async () => {
    const cfg = validateConfig(
      baseDoc([{ name: 'p', consumer: 'alice', window: 'fixed', limits: { hour: 50 }, limitBy: 'consumer' }]),
    );
    const prefix = `t1:${Date.now()}:`;
    const a = new RateLimiter({ redis: client(), keyPrefix: prefix, policies: cfg.rateLimits });
    const b = new RateLimiter({ redis: client(), keyPrefix: prefix, policies: cfg.rateLimits });
    await Promise.all(clients.map(ready));
    const policy = cfg.rateLimits[0];
    if (!policy) throw new Error('no policy');
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
    const cfg = validateConfig(
      baseDoc([{ name: 'g', route: 'r', window: 'sliding', limits: { second: 10 }, limitBy: 'ip' }]),
    );
    const rl = new RateLimiter({ redis: client(), keyPrefix: `t2:${Date.now()}:`, policies: cfg.rateLimits });
    await Promise.all(clients.map(ready));
    const policy = cfg.rateLimits[0];
    if (!policy) throw new Error('no policy');
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
    const cfg = validateConfig(
      baseDoc([
        { name: 'o', consumer: 'alice', window: 'fixed', limits: { hour: 1000 }, limitBy: 'consumer' },
      ]),
    );
    const prefix = `t3:${Date.now()}:`;
    const a = new RateLimiter({ redis: client(), keyPrefix: prefix, policies: cfg.rateLimits });
    const b = new RateLimiter({ redis: client(), keyPrefix: prefix, policies: cfg.rateLimits });
    await Promise.all(clients.map(ready));
    const policy = cfg.rateLimits[0];
    if (!policy) throw new Error('no policy');
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
});
