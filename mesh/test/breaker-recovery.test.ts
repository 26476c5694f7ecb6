import { renderMetrics } from '@breakwater/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { type BreakerState, createUpstream, type Upstream } from '../src/client/index.ts';
import { rejection, startUpstream, type TestUpstream, until } from './helpers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A loopback upstream that answers 503 while `state.failing`, else 200. */
async function switchable(): Promise<{ u: TestUpstream; state: { failing: boolean } }> {
  const state = { failing: true };
  const u = await startUpstream((_req, res) => {
    res.statusCode = state.failing ? 503 : 200;
    res.end();
  });
  cleanups.push(() => u.close());
  return { u, state };
}

function client(name: string, url: string, breaker: Record<string, number>): Upstream {
  const c = createUpstream({
    name,
    baseUrl: url,
    policy: { retry: { maxRetries: 0 }, breaker: { volumeThreshold: 1, errorThresholdPct: 1, ...breaker } },
  });
  cleanups.push(() => c.close());
  return c;
}

describe('breaker recovery', () => {
  it('half-opens after openBaseMs, doubles the open interval per failed trial up to resetTimeoutMs, resets on close', async () => {
    const { u, state } = await switchable();
    const c = client('grow', u.url, { openBaseMs: 100, resetTimeoutMs: 300 });
    const seen: BreakerState[] = [];
    c.onStateChange((s) => seen.push(s));

    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(c.state).toBe('open');
    const openedAt = c.stats().stateSince;
    expect(openedAt).toBeGreaterThan(0);
    // Measured between the breaker's own transition times, so a slow test process cannot shorten them.
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const openSince = c.stats().stateSince;
      await until(() => c.state === 'half-open', 3_000, 2);
      waits.push(c.stats().stateSince - openSince);
      // The one trial goes to the upstream and fails: open again, for longer.
      expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
      expect(c.state).toBe('open');
      // While open, nothing reaches the upstream.
      expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_BREAKER_OPEN');
    }
    // 100, 200, 300 (capped): each wait at least its interval, and growing.
    expect(waits[0]).toBeGreaterThanOrEqual(99);
    expect(waits[1]).toBeGreaterThanOrEqual(199);
    expect(waits[2]).toBeGreaterThanOrEqual(299);
    expect(c.stats().openIntervalMs).toBe(300);
    expect(u.hits).toBe(4); // the opening call and one trial per half-open

    state.failing = false;
    await until(() => c.state === 'half-open', 3_000, 2);
    expect((await c.request({ path: '/' })).status).toBe(200);
    expect(c.state).toBe('closed');
    expect(c.stats().openIntervalMs).toBe(100);
    expect(c.stats().stateSince).toBeGreaterThan(openedAt);
    expect(seen.at(-1)).toBe('closed');
    const metrics = (await renderMetrics()).body;
    expect(metrics).toMatch(/bw_breaker_state_since_seconds\{[^}]*upstream="grow"[^}]*\} \d{10}/);
  });

  it('closes with a fresh window: a failure right after the trial passed does not re-open it', async () => {
    const { u, state } = await switchable();
    const c = client('fresh', u.url, {
      volumeThreshold: 4,
      errorThresholdPct: 50,
      openBaseMs: 50,
      resetTimeoutMs: 50,
    });
    for (let i = 0; i < 4; i++) await rejection(c.request({ path: '/' }));
    expect(c.state).toBe('open');

    state.failing = false;
    await until(() => c.state === 'half-open', 3_000, 2);
    expect((await c.request({ path: '/' })).status).toBe(200);
    expect(c.state).toBe('closed');

    // The upstream fails once more (orders' 503 while its own catalog breaker is still closing).
    // opossum's window would still hold the 4 failures: 5 of 6 > 50 % over ≥ 4 calls, open again.
    state.failing = true;
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(c.state).toBe('closed');
    // Judged again on what came since the close: four failures in a row open it.
    for (let i = 0; i < 3; i++) await rejection(c.request({ path: '/' }));
    expect(c.state).toBe('open');
    expect(u.hits).toBe(9);
  });

  it('with the default policy a recovered upstream answers normally again within a second', async () => {
    const { u, state } = await switchable();
    const c = createUpstream({
      name: 'recover',
      baseUrl: u.url,
      policy: { retry: { maxRetries: 0 }, breaker: { volumeThreshold: 5, resetTimeoutMs: 5_000 } },
    });
    cleanups.push(() => c.close());
    for (let i = 0; i < 5; i++) await rejection(c.request({ path: '/' }));
    expect(c.state).toBe('open');
    const hitsWhenOpened = u.hits;

    // Still failing for 300 ms of steady traffic, within the first open interval: nothing gets through.
    const failingUntil = performance.now() + 300;
    while (performance.now() < failingUntil) {
      await rejection(c.request({ path: '/' }));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(u.hits).toBe(hitsWhenOpened);

    // Recovery: steady traffic every 10 ms until a call answers normally.
    state.failing = false;
    const recoveredAt = performance.now();
    let recoveryMs = Number.POSITIVE_INFINITY;
    const giveUp = recoveredAt + 3_000;
    while (performance.now() < giveUp) {
      const ok = await c.request({ path: '/' }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        recoveryMs = performance.now() - recoveredAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(recoveryMs).toBeLessThan(1_000);
    expect(c.state).toBe('closed');
  });

  it('with a probe: tests the upstream itself once per open interval, no caller request gets through, and closes without traffic', async () => {
    const probes: string[] = [];
    const state = { failing: true };
    const u = await startUpstream((req, res) => {
      if (req.headers['user-agent'] === 'breakwater-mesh-probe') probes.push(req.url ?? '');
      res.statusCode = state.failing ? 503 : 200;
      res.end();
    });
    cleanups.push(() => u.close());
    const c = createUpstream({
      name: 'probed',
      baseUrl: u.url,
      policy: {
        retry: { maxRetries: 0 },
        breaker: {
          volumeThreshold: 1,
          errorThresholdPct: 1,
          openBaseMs: 100,
          resetTimeoutMs: 200,
          probe: { path: '/health/ready', timeoutMs: 100 },
        },
      },
    });
    cleanups.push(() => c.close());
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(c.state).toBe('open');

    // Failing: probes come (100 ms, then every 200 ms), callers are refused and never reach the upstream.
    await until(() => probes.length >= 3, 3_000, 5);
    expect(c.state).not.toBe('closed');
    expect(c.stats().openIntervalMs).toBe(200);
    const callerHits = u.hits - probes.length;
    for (let i = 0; i < 5; i++) {
      const code = (await rejection(c.request({ path: '/' }))).code;
      expect(code).toBe('MESH_ERR_BREAKER_OPEN');
    }
    expect(u.hits - probes.length).toBe(callerHits);
    expect(new Set(probes)).toEqual(new Set(['/health/ready']));

    // Recovered: with no caller traffic at all, the next probe closes the breaker within an interval.
    state.failing = false;
    const recoveredAt = performance.now();
    await until(() => c.state === 'closed', 3_000, 2);
    expect(performance.now() - recoveredAt).toBeLessThan(1_000);
    expect(c.stats().openIntervalMs).toBe(100);
    expect((await c.request({ path: '/' })).status).toBe(200);
  });

  it('refuses a probe path that is not a path', () => {
    expect(() =>
      createUpstream({
        name: 'bad-probe',
        baseUrl: 'http://127.0.0.1:1',
        policy: { breaker: { probe: { path: 'health' } } },
      }),
    ).toThrow(/breaker\.probe\.path/);
  });

  it('opens after consecutiveFailures failed tries in a row although the window holds far more successes; a success resets the count', async () => {
    const { u, state } = await switchable();
    const settings = { volumeThreshold: 20, errorThresholdPct: 50, openBaseMs: 5_000, resetTimeoutMs: 5_000 };
    const withCount = client('consecutive', u.url, { ...settings, consecutiveFailures: 5 });
    const rateOnly = client('rate-only', u.url, settings);
    state.failing = false;
    for (let i = 0; i < 50; i++) {
      await withCount.request({ path: '/' });
      await rateOnly.request({ path: '/' });
    }
    state.failing = true;
    // Four failures, a success, four more: never five in a row.
    for (const fail of [true, true, true, true, false, true, true, true, true]) {
      state.failing = fail;
      await withCount.request({ path: '/', throwOnStatus: false });
    }
    expect(withCount.state).toBe('closed');
    state.failing = true;
    await withCount.request({ path: '/', throwOnStatus: false });
    expect(withCount.state).toBe('open');
    expect((await rejection(withCount.request({ path: '/' }))).code).toBe('MESH_ERR_BREAKER_OPEN');
    // The error rate alone (10 failures against 50 successes) keeps the other one closed.
    for (let i = 0; i < 10; i++) await rateOnly.request({ path: '/', throwOnStatus: false });
    expect(rateOnly.state).toBe('closed');
  });
});
