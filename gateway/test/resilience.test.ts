import { renderMetrics } from '@breakwater/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/app.ts';
import {
  type Backends,
  pollUntil,
  startBackends,
  startTestGateway,
  startUpstream,
  type TestUpstream,
  testConfig,
  writeConfig,
} from './helpers.ts';

let backends: Backends;
let flaky: TestUpstream;
let gw: RunningGateway;

const ALICE = { apikey: 'alice-test-key-0123456789' };
const CAROL = { apikey: 'carol-test-key-0123456789' };

beforeAll(async () => {
  backends = await startBackends();
  flaky = await startUpstream();
  const base = testConfig();
  const configFile = writeConfig(
    testConfig({
      upstreams: {
        ...(base.upstreams as object),
        // An open interval longer than the 503 loop below takes even on a loaded machine, so no half-open probe lands in it.
        flaky: {
          timeoutMs: 500,
          deadlineMs: 1000,
          retry: { maxRetries: 0 },
          breaker: {
            errorThresholdPct: 50,
            volumeThreshold: 5,
            openBaseMs: 3_000,
            resetTimeoutMs: 3_000,
            rollingWindowMs: 10_000,
          },
        },
      },
      // No rate limit on this route: the breaker test measures the breaker path alone.
      routes: [
        { name: 'flaky', path: '/api/flaky', methods: ['GET'], upstream: 'flaky' },
        ...(base.routes as unknown[]),
      ],
      rateLimits: [
        { name: 'api-open', route: 'api', limits: { second: 5000 }, onRedisDown: 'fail-open' },
        {
          name: 'carol-open',
          route: 'api',
          consumer: 'carol',
          limits: { hour: 5 },
          onRedisDown: 'fail-open',
        },
        { name: 'other-closed', route: 'other', limits: { second: 5000 }, onRedisDown: 'fail-closed' },
      ],
    }),
  );
  gw = await startTestGateway({
    configFile,
    redisUrl: backends.redis.url,
    upstreams: { ...backends.upstreams, flaky: flaky.url },
  });
});

afterAll(async () => {
  await gw?.close();
  await flaky?.close();
  await backends?.stop();
});

/** Count and ≤1 ms bucket of the gateway's own request duration for one route and status class. */
async function durationBuckets(route: string, sc: string): Promise<{ count: number; le1ms: number }> {
  const { body } = await renderMetrics();
  const lines = body
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('bw_http_server_request_duration_seconds') &&
        l.includes(`route="${route}"`) &&
        l.includes(`status_class="${sc}"`),
    );
  const value = (pred: (l: string) => boolean) => Number(lines.find(pred)?.split(' ').at(-1) ?? 0);
  return {
    count: value((l) => l.startsWith('bw_http_server_request_duration_seconds_count')),
    le1ms: value((l) => l.includes('le="0.001"')),
  };
}

describe('upstream down', () => {
  it('opens the breaker, answers fast 503s with Retry-After, and recovers when the upstream is back', async () => {
    const url = `${gw.url}/api/flaky/x`;
    expect((await fetch(url, { headers: ALICE })).status).toBe(200);
    await flaky.stop();
    try {
      // Connection refused: 503s (MESH_ERR_CONNECT) until the breaker has seen enough failures.
      await pollUntil(
        async () => (await fetch(url, { headers: ALICE })).status === 503,
        5_000,
        'breaker open',
      );
      const before = await durationBuckets('flaky', '5xx');
      const latencies: number[] = [];
      const loopEnd = performance.now() + 2_000;
      for (let i = 0; i < 200 && performance.now() < loopEnd; i++) {
        const t = performance.now();
        const r = await fetch(url, { headers: ALICE });
        latencies.push(performance.now() - t);
        expect(r.status).toBe(503);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(((await r.json()) as { code: string }).code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
      }
      const after = await durationBuckets('flaky', '5xx');
      const n = latencies.length;
      expect(n).toBeGreaterThanOrEqual(50);
      expect(after.count - before.count).toBe(n);
      const under1ms = after.le1ms - before.le1ms;
      latencies.sort((a, b) => a - b);
      console.log(
        `breaker-open 503: ${under1ms}/${n} under 1 ms of gateway time (server histogram); client round trip p50 ${latencies[Math.floor(n / 2)]?.toFixed(3)} ms, p99 ${latencies[Math.floor(n * 0.99)]?.toFixed(3)} ms`,
      );
      // Gateway time from the server-side histogram. The median must be under 1 ms; the tail is
      // left to the machine (tests share 2 cores with other suites, so scheduling stalls happen).
      expect(under1ms).toBeGreaterThanOrEqual(n / 2);
      expect((await renderMetrics()).body).toMatch(/bw_breaker_state\{[^}]*upstream="flaky"[^}]*\} [12]/);
    } finally {
      await flaky.start();
    }
    await pollUntil(
      async () => (await fetch(url, { headers: ALICE })).status === 200,
      10_000,
      'breaker closed again',
    );
    expect((await renderMetrics()).body).toMatch(/bw_breaker_state\{[^}]*upstream="flaky"[^}]*\} 0/);
  });
});

describe('Redis down', () => {
  it('fail-open keeps serving with the local limiter, fail-closed answers 503, and shared limiting resumes when Redis is back', async () => {
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${gw.url}/api/svc/x`, { headers: CAROL })).status).toBe(200);
    const sixth = await fetch(`${gw.url}/api/svc/x`, { headers: CAROL });
    expect(sixth.status).toBe(429);
    /** Waits until the fail-closed route (`other`) answers `status`. */
    const failClosedAnswers = (status: number, deadlineMs: number, what: string) =>
      pollUntil(
        async () => (await fetch(`${gw.url}/api/other/x`, { headers: ALICE })).status === status,
        deadlineMs,
        what,
      );

    await backends.redis.kill();
    await failClosedAnswers(503, 5_000, 'fail-closed route refusing');
    const closed = await fetch(`${gw.url}/api/other/x`, { headers: ALICE });
    expect(closed.status).toBe(503);
    expect(((await closed.json()) as { code: string }).code).toBe('GW_ERR_RATE_LIMIT_UNAVAILABLE');
    expect(closed.headers.get('retry-after')).toBe('1');

    // fail-open: served, counted locally (carol's local window starts empty: 5 more, then 429).
    for (let i = 0; i < 20; i++)
      expect((await fetch(`${gw.url}/api/svc/x`, { headers: ALICE })).status).toBe(200);
    const carol = [];
    for (let i = 0; i < 7; i++) carol.push((await fetch(`${gw.url}/api/svc/x`, { headers: CAROL })).status);
    expect(carol).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((await renderMetrics()).body).toMatch(
      /bw_gateway_ratelimit_decisions_total\{[^}]*route="api"[^}]*consumer="alice"[^}]*decision="fail_open"[^}]*\} 20/,
    );
    expect((await fetch(`${gw.url}/health/ready`)).status).toBe(200);

    // Redis back (empty): the fail-closed route serves again and carol is counted in Redis afresh.
    await backends.redis.restart();
    await failClosedAnswers(200, 10_000, 'fail-closed route serving again');
    const resumed = await fetch(`${gw.url}/api/svc/x`, { headers: CAROL });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('ratelimit')).toBe(
      '"per-hour";r=4;t=3600'.replace('t=3600', `t=${resumed.headers.get('ratelimit-reset')}`),
    );
  });
});

describe('two consumers', () => {
  it('one flooding at 10x its limit does not change the other’s success, and its latency stays within tolerance', async () => {
    const pct = (sorted: number[], q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number;
    // Carol: one request at a time, paced every 5 ms, for `ms`.
    const measure = async (ms: number) => {
      const lat: number[] = [];
      let ok = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 5));
        const t = performance.now();
        const r = await fetch(`${gw.url}/api/other/x`, { headers: CAROL });
        await r.arrayBuffer();
        lat.push(performance.now() - t);
        if (r.status === 200) ok++;
      }
      lat.sort((a, b) => a - b);
      return { ok, n: lat.length, p50: pct(lat, 0.5), p95: pct(lat, 0.95) };
    };
    // Alice offers 10x her limit: 200 requests/s against 20/s, paced (10 every 50 ms) for the whole measurement.
    const LIMIT = 20;
    const flood = (stop: { done: boolean }) =>
      new Promise<{ sent: number; limited: number }>((resolve) => {
        let sent = 0;
        let limited = 0;
        const pending: Promise<void>[] = [];
        const timer = setInterval(() => {
          if (stop.done) {
            clearInterval(timer);
            void Promise.all(pending).then(() => resolve({ sent, limited }));
            return;
          }
          for (let i = 0; i < (LIMIT * 10) / 20; i++) {
            sent++;
            pending.push(
              fetch(`${gw.url}/api/svc/flood`, { headers: ALICE }).then(async (r) => {
                await r.arrayBuffer();
                if (r.status === 429) limited++;
              }),
            );
          }
        }, 50);
      });
    const put = await fetch(`http://127.0.0.1:${gw.adminPort}/admin/limits`, {
      method: 'PUT',
      headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ policy: 'api-open', limits: { second: LIMIT } }),
    });
    expect(put.status).toBe(200);
    const baseline = await measure(1_500);
    const stop = { done: false };
    const flooding = flood(stop);
    const started = performance.now();
    const under = await measure(2_000);
    stop.done = true;
    const flooded = await flooding;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `isolation: carol baseline p50 ${baseline.p50.toFixed(2)} ms p95 ${baseline.p95.toFixed(2)} ms; during alice's flood (${flooded.sent} req in ${seconds.toFixed(1)} s, ${flooded.limited} limited) p50 ${under.p50.toFixed(2)} ms p95 ${under.p95.toFixed(2)} ms`,
    );
    // Alice really offered about 10x her limit and was limited.
    expect(flooded.sent / seconds).toBeGreaterThanOrEqual(LIMIT * 10 * 0.7);
    expect(flooded.limited).toBeGreaterThanOrEqual(flooded.sent - LIMIT * Math.ceil(seconds + 1));
    expect(baseline.n).toBeGreaterThan(20);
    expect(under.n).toBeGreaterThan(20);
    expect(baseline.ok).toBe(baseline.n);
    expect(under.ok).toBe(under.n);
    // Stated tolerance: carol's p50 at most 2x her baseline + 5 ms, p95 at most 2x + 50 ms. Loose on
    // purpose: the flood, carol and the gateway share this process and 2 busy cores, so what is
    // measured beyond this is CPU contention, not rate-limit interference (success must be 100 %).
    expect(under.p50).toBeLessThan(baseline.p50 * 2 + 5);
    expect(under.p95).toBeLessThan(baseline.p95 * 2 + 50);
  });
});
