/**
 * Two real gateway processes (`node gateway/src/main.ts`) on one port
 * (SO_REUSEPORT), sharing one Redis — the local deployment's gateway-1 and
 * gateway-2. Requests go over fresh connections so the kernel spreads them
 * across both processes; the test checks both actually served.
 */
import { freePort } from '@breakwater/local/ports';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type Backends,
  type GatewayProcess,
  getFresh,
  pollUntil,
  spawnGatewayPair,
  startBackends,
  testConfig,
  writeConfig,
} from './helpers.ts';

let backends: Backends;
let gateways: GatewayProcess[] = [];
let port: number;

beforeAll(async () => {
  backends = await startBackends();
  port = await freePort();
  const configFile = writeConfig(
    testConfig({
      rateLimits: [
        { name: 'alice', consumer: 'alice', window: 'fixed', limits: { minute: 100 } },
        { name: 'carol', consumer: 'carol', window: 'sliding', limits: { hour: 1000 } },
      ],
    }),
  );
  gateways = await spawnGatewayPair({ GATEWAY_CONFIG: configFile, ...backends.env }, port);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await backends?.stop();
});

const get = (path: string, headers: Record<string, string>) => getFresh(port, path, headers);

/** Seconds left in the current clock-aligned minute, by Redis's clock (the one the script uses). */
async function secondsLeftInMinute(): Promise<number> {
  const c = new Redis(backends.redis.url);
  const [s] = await c.time();
  c.disconnect();
  return 60 - (Number(s) % 60);
}

describe('two gateway processes sharing one Redis', () => {
  it('admit exactly 100 of 130 requests in one 100/minute window, counting down, then 429 with Retry-After', async () => {
    // Align to a fresh window: 130 requests take well under 10 s.
    const left = await secondsLeftInMinute();
    if (left < 10) await new Promise((r) => setTimeout(r, left * 1000 + 50));
    const answers = await Promise.all(
      Array.from({ length: 130 }, () => get('/api/svc/x', { apikey: 'alice-test-key-0123456789' })),
    );
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    const summary = JSON.stringify(
      answers.map((a) => `${a.status} ${a.headers.via} ${a.headers['x-ratelimit-remaining-minute']}`).sort(),
    );
    expect(ok.length, summary).toBe(100);
    expect(limited.length, summary).toBe(30);
    // Counted down across both processes: every remaining value 99..0 seen exactly once.
    const remaining = ok.map((a) => Number(a.headers['x-ratelimit-remaining-minute'])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const a of ok) {
      expect(a.headers['x-ratelimit-limit-minute']).toBe('100');
      expect(a.headers['ratelimit-limit']).toBe('100');
      expect(a.headers['ratelimit-remaining']).toBe(a.headers['x-ratelimit-remaining-minute']);
      expect(a.headers['ratelimit-policy']).toBe('"per-minute";q=100;w=60');
      expect(a.headers.ratelimit).toBe(
        `"per-minute";r=${a.headers['x-ratelimit-remaining-minute']};t=${a.headers['ratelimit-reset']}`,
      );
    }
    for (const a of limited) {
      const reset = Number(a.headers['ratelimit-reset']);
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(reset);
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(60);
      expect(a.headers['content-type']).toBe('application/problem+json');
    }
    // Both processes took part (each names itself in Via).
    expect(new Set(answers.map((a) => a.headers.via))).toEqual(new Set(['1.1 gateway-1', '1.1 gateway-2']));
  });

  it('a live limit change through one process takes effect on the next request on every process', async () => {
    const headers = { apikey: 'carol-test-key-0123456789' };
    const first = await get('/api/svc/x', headers);
    expect(first.headers['ratelimit-policy']).toBe('"per-hour";q=1000;w=3600');
    const cli = gateways[0] as GatewayProcess;
    const put = await fetch(`${cli.adminUrl}/admin/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ consumer: 'carol', limits: { hour: 1500 } }),
    });
    expect(put.status).toBe(200);
    // The very next request on each process (fresh connections land on both; 20 of them make a miss of one process ~1e-6).
    const next = await Promise.all(Array.from({ length: 20 }, () => get('/api/svc/x', headers)));
    for (const a of next) expect(a.headers['ratelimit-policy']).toBe('"per-hour";q=1500;w=3600');
    expect(new Set(next.map((a) => a.headers.via))).toEqual(new Set(['1.1 gateway-1', '1.1 gateway-2']));
    // Both processes report the new limit in their own admin view (updated via pub/sub) …
    for (const g of gateways) {
      await pollUntil(
        async () => {
          const r = await fetch(`${g.adminUrl}/admin/limits`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          const body = (await r.json()) as { limits: { policy: string; effective: { hour?: number } }[] };
          return body.limits.find((l) => l.policy === 'carol')?.effective.hour === 1500;
        },
        2_000,
        'admin view updated on every process',
      );
    }
    // … and a lower limit bites at once on both.
    await fetch(`${cli.adminUrl}/admin/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: 'carol', limits: { hour: 1 } }),
    });
    const after = await Promise.all(Array.from({ length: 10 }, () => get('/api/svc/x', headers)));
    expect(after.every((a) => a.status === 429)).toBe(true);
    for (const a of after) expect(a.headers['ratelimit-policy']).toBe('"per-hour";q=1;w=3600');
  });
});
