import { randomUUID } from 'node:crypto';
import { sharedRedisUrl } from '@breakwater/local/shared';
import { createLogger } from '@breakwater/observability';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitPrincipal, auth } from '../../src/pipeline/auth.ts';
import { admit, limit } from '../../src/pipeline/limit.ts';
import { target } from '../../src/pipeline/target.ts';
import { RateLimiter } from '../../src/rate-limit.ts';
import { ask, type StageServer, stageServer, stateFor } from './stage-kit.ts';

describe('stage limit (real Redis)', () => {
  let s: StageServer;
  let redis: Redis;
  beforeAll(async () => {
    const state = await stateFor({
      rateLimits: [{ name: 'api', route: 'api', limits: { minute: 2 }, limitBy: 'consumer' }],
    });
    redis = new Redis(sharedRedisUrl());
    const limiter = new RateLimiter({
      redis,
      keyPrefix: `bw:test:${randomUUID()}:`,
      policies: state.config.rateLimits,
      log: createLogger({ service: 'gateway-test', level: 'silent' }),
    });
    s = await stageServer(state, async (ctx) => {
      target(ctx);
      admitPrincipal(ctx, (await auth(ctx)) ?? undefined);
      const pending = limit(ctx, limiter);
      if (pending === undefined) return { policy: false };
      try {
        admit(ctx, await pending);
      } catch (err) {
        // The refusal's fields ride on ctx: refuse() puts them on the 429.
        return { refused: (err as { code: string }).code, headers: ctx.rateLimitHeaders };
      }
      return { policy: true, headers: ctx.rateLimitHeaders };
    });
  });
  afterAll(async () => {
    await s.close();
    redis.disconnect();
  });

  it('skips routes without a policy: no decision, no await', async () => {
    expect((await ask(`${s.url}/page`)).body.result).toEqual({ policy: false });
  });

  it('admits within the limit with the rate-limit fields, then refuses with 429 and Retry-After', async () => {
    const alice = { headers: { apikey: 'alice-test-key-0123456789' } };
    const first = await ask(`${s.url}/api/svc/a`, alice);
    expect(first.body.result).toMatchObject({ policy: true });
    expect((first.body.result as { headers: Record<string, string> }).headers).toMatchObject({
      'X-RateLimit-Limit-Minute': '2',
      'X-RateLimit-Remaining-Minute': '1',
    });
    expect((await ask(`${s.url}/api/svc/a`, alice)).body.result).toMatchObject({ policy: true });
    const third = await ask(`${s.url}/api/svc/a`, alice);
    const refused = third.body.result as { refused: string; headers: Record<string, string> };
    expect(refused.refused).toBe('GW_ERR_RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another consumer has its own count.
    const carol = await ask(`${s.url}/api/svc/a`, { headers: { apikey: 'carol-test-key-0123456789' } });
    expect(carol.body.result).toMatchObject({ policy: true });
  });
});
