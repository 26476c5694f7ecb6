import { PassThrough, Readable } from 'node:stream';
import { renderMetrics } from '@breakwater/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { type BreakerState, createUpstream, staticResponse, type Upstream } from '../src/client/index.ts';
import { Deadline } from '../src/deadline.ts';
import { isMeshError, type MeshError } from '../src/errors.ts';
import { parsePolicy, parseRetryOverride } from '../src/policy.ts';
import { rejection, startUpstream, type TestUpstream, until } from './helpers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function upstream(handler: Parameters<typeof startUpstream>[0]): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  cleanups.push(() => u.close());
  return u;
}

function client(
  name: string,
  baseUrl: string,
  policy: Parameters<typeof createUpstream>[0]['policy'] = {},
): Upstream {
  const c = createUpstream({ name, baseUrl, policy });
  cleanups.push(() => c.close());
  return c;
}

const NO_BREAKER = { enabled: false } as const;
const FAST_BACKOFF = { baseMs: 1, capMs: 5 } as const;

describe('basic calls', () => {
  it('sends method, path, query, JSON and headers, and buffers the answer', async () => {
    let seen = '';
    const u = await upstream((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen = `${req.method} ${req.url} ${req.headers['content-type']} ${req.headers['x-extra']} ${body}`;
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    const c = client('basic', u.url);
    const res = await c.request({
      method: 'post',
      path: '/things',
      query: { a: 1, b: 'x y', skip: undefined },
      json: { n: 1 },
      headers: { 'X-Extra': 'yes', Connection: 'close' },
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.json()).toEqual({ ok: true });
    expect(res.tries).toBe(1);
    expect(seen).toBe('POST /things?a=1&b=x%20y application/json yes {"n":1}');
  });

  it('keeps a base URL path prefix', async () => {
    const u = await upstream((req, res) => res.end(req.url));
    const c = client('prefix', `${u.url}/api/`);
    expect((await c.request({ path: '/x' })).text()).toBe('/api/x');
  });

  it('returns 4xx without retrying or throwing', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 404;
      res.end('nope');
    });
    const c = client('four', u.url, { retry: { backoff: FAST_BACKOFF } });
    const res = await c.request({ path: '/missing' });
    expect(res.status).toBe(404);
    expect(u.hits).toBe(1);
  });
});

describe('retries', () => {
  it('retries idempotent calls on 503 and succeeds', async () => {
    const u = await upstream((_req, res, hit) => {
      res.statusCode = hit < 3 ? 503 : 200;
      res.end(String(hit));
    });
    const c = client('retry-get', u.url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    const res = await c.request({ path: '/x' });
    expect(res.status).toBe(200);
    expect(res.tries).toBe(3);
    expect(u.hits).toBe(3);
    // Each retry is counted by what the try before failed with.
    expect((await renderMetrics(undefined)).body).toContain(
      'bw_upstream_retries_total{upstream="retry-get",cause="status_503"} 2',
    );
  });

  it('never retries a POST without an idempotency key, and does with one', async () => {
    const u = await upstream((req, res) => {
      res.statusCode = 503;
      res.end(req.headers['idempotency-key'] ?? '');
    });
    const c = client('retry-post', u.url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    const e1 = await rejection(c.request({ method: 'POST', path: '/o', json: {} }));
    expect(e1.code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(u.hits).toBe(1);
    const e2 = await rejection(c.request({ method: 'POST', path: '/o', json: {}, idempotencyKey: 'k-1' }));
    expect(e2.code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect((e2 as unknown as MeshError).upstreamStatus).toBe(503);
    expect(u.hits).toBe(4);
    expect(u.last?.['idempotency-key']).toBe('k-1');
  });

  it('does not retry 500 unless the policy names it', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const c = client('retry-500', u.url, { breaker: NO_BREAKER, retry: { backoff: FAST_BACKOFF } });
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(u.hits).toBe(1);
    const res = await c.request({ path: '/', throwOnStatus: false });
    expect(res.status).toBe(500);
  });

  it('honours Retry-After, and does not retry when it would pass the deadline', async () => {
    const u = await upstream((_req, res, hit) => {
      res.statusCode = hit === 1 ? 503 : 200;
      res.setHeader('retry-after', hit === 1 ? '0' : '5');
      res.end();
    });
    const c = client('retry-after', u.url, {
      breaker: NO_BREAKER,
      retry: { backoff: { baseMs: 5_000, capMs: 5_000 } },
      deadlineMs: 2_000,
    });
    // Retry-After: 0 replaces the 5 s backoff, so the retry happens at once.
    const t0 = performance.now();
    expect((await c.request({ path: '/' })).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1_000);

    const v = await upstream((_req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', '5');
      res.end();
    });
    const c2 = client('retry-after-2', v.url, { breaker: NO_BREAKER, deadlineMs: 2_000 });
    const err = await rejection(c2.request({ path: '/' }));
    expect(err.code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect((err as unknown as MeshError).retryAfterSec).toBe(5);
    expect(v.hits).toBe(1);
  });

  it('retries connection errors and reports MESH_ERR_CONNECT', async () => {
    const u = await startUpstream((_req, res) => res.end());
    const url = u.url;
    await u.close(); // nothing listens there now
    const c = client('refused', url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    const err = await rejection(c.request({ path: '/' }));
    expect(err.code).toBe('MESH_ERR_CONNECT');
    expect((err as unknown as MeshError).status).toBe(503);
    expect((err as unknown as MeshError).retryAfterSec).toBe(1);
    expect((await renderMetrics(undefined)).body).toContain(
      'bw_upstream_retries_total{upstream="refused",cause="connect_failure"} 2',
    );
  });

  it('counts a retry after a connection broken under the request as reset, after a slow try as per_try_timeout', async () => {
    const u = await upstream((req, res, hit) => {
      // The instance went away mid-request, then one is slow.
      if (hit === 1) req.socket.destroy();
      else if (hit === 2) setTimeout(() => res.end('late'), 400);
      else res.end('ok');
    });
    const c = client('reset-then-slow', u.url, {
      timeoutMs: 150,
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    expect((await c.request({ path: '/' })).status).toBe(200);
    const metrics = (await renderMetrics(undefined)).body;
    expect(metrics).toContain('bw_upstream_retries_total{upstream="reset-then-slow",cause="reset"} 1');
    expect(metrics).toContain(
      'bw_upstream_retries_total{upstream="reset-then-slow",cause="per_try_timeout"} 1',
    );
  });
});

describe('per-call retry override', () => {
  it('replaces maxRetries and statuses for one call only; the policy applies to the others', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const c = client('retry-override', u.url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, statuses: [503], backoff: FAST_BACKOFF },
    });
    // The policy does not retry 500.
    expect((await c.request({ path: '/', throwOnStatus: false })).tries).toBe(1);
    expect(u.hits).toBe(1);
    // A validated (frozen) override: 500 retried, at most 1 retry.
    const override = parseRetryOverride({ maxRetries: 1, statuses: [500] }, 'route');
    expect(Object.isFrozen(override)).toBe(true);
    const res = await c.request({ path: '/', throwOnStatus: false, retry: override });
    expect(res.tries).toBe(2);
    expect(u.hits).toBe(3);
    // A plain object works too (validated per call), and the same frozen one again.
    expect((await c.request({ path: '/', throwOnStatus: false, retry: { statuses: [500] } })).tries).toBe(3);
    expect((await c.request({ path: '/', throwOnStatus: false, retry: override })).tries).toBe(2);
    expect(u.hits).toBe(8);
    // The policy is untouched.
    expect(c.policy.retry.statuses).toEqual([503]);
  });

  it('turns retries off for a call (maxRetries 0), also for connection errors and streams', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = client('retry-off', u.url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    const s = await c.stream({ path: '/', retry: { maxRetries: 0 } });
    s.body.resume();
    expect(s.status).toBe(503);
    expect(s.tries).toBe(1);
    const dead = await startUpstream((_req, res) => res.end());
    await dead.close();
    const d = client('retry-off-connect', dead.url, {
      breaker: NO_BREAKER,
      retry: { maxRetries: 2, backoff: FAST_BACKOFF },
    });
    const err = await rejection(d.request({ path: '/', retry: { onConnectError: false } }));
    expect(err.code).toBe('MESH_ERR_CONNECT');
    // No retry was taken: the tries counter of this upstream says 1 first try, 0 retries.
    const metrics = (await renderMetrics(undefined)).body;
    expect(metrics).toContain('bw_upstream_tries_total{upstream="retry-off-connect",kind="first"} 1');
    expect(metrics).toContain('bw_upstream_tries_total{upstream="retry-off-connect",kind="retry"} 0');
  });

  it('refuses an invalid override naming the field, without calling the upstream', async () => {
    const u = await upstream((_req, res) => res.end());
    const c = client('retry-bad', u.url);
    const err = await rejection(c.request({ path: '/', retry: { statuses: [404] } }));
    expect(err.code).toBe('MESH_ERR_INVALID_REQUEST');
    expect(err.message).toContain('retry.statuses.0');
    const unknown = await rejection(
      c.request({ path: '/', retry: { backoff: { baseMs: 1 } } as unknown as { maxRetries: number } }),
    );
    expect(unknown.code).toBe('MESH_ERR_INVALID_REQUEST');
    expect(unknown.message).toContain('backoff');
    expect(u.hits).toBe(0);
    expect(() => parseRetryOverride({ maxRetries: 11 }, 'orders')).toThrow(/retry\.orders\.maxRetries/);
  });
});

describe('retry budget', () => {
  it('caps upstream load at (1 + budget) × requests + floor when every call fails', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = client('budget', u.url, {
      breaker: NO_BREAKER,
      retry: {
        maxRetries: 3,
        backoff: FAST_BACKOFF,
        budget: { percent: 20, minRetriesPerSec: 0.5, ttlMs: 60_000 },
      },
    });
    const calls = 300;
    const codes = new Map<string, number>();
    // Steady load: 10 workers, each calling back to back.
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < calls) {
          next++;
          const err = await rejection(c.request({ path: '/' }));
          codes.set(err.code ?? '?', (codes.get(err.code ?? '?') ?? 0) + 1);
        }
      }),
    );
    const floor = 0.5 * 60;
    expect(u.hits).toBeLessThanOrEqual(Math.floor(calls * 1.2 + floor));
    // Without a budget it would be 4 × 300 = 1200.
    expect(u.hits).toBeGreaterThan(calls);
    expect(codes.get('MESH_ERR_BUDGET_EXHAUSTED')).toBeGreaterThan(0);
    const budgetErr = await rejection(c.request({ path: '/' }));
    expect(budgetErr.code).toBe('MESH_ERR_BUDGET_EXHAUSTED');
    expect((budgetErr.cause as MeshError).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    const metrics = (await renderMetrics()).body;
    expect(metrics).toMatch(/bw_upstream_retry_budget_exhausted_total\{[^}]*upstream="budget"[^}]*\} [1-9]/);
  });
});

describe('circuit breaker', () => {
  it('opens after volume and error rate, fails fast, half-opens after the reset timeout and closes on success', async () => {
    let failing = true;
    const u = await upstream((_req, res) => {
      res.statusCode = failing ? 503 : 200;
      res.end();
    });
    const c = client('breaker', u.url, {
      retry: { maxRetries: 0 },
      breaker: { volumeThreshold: 10, errorThresholdPct: 50, resetTimeoutMs: 300 },
    });
    const states: BreakerState[] = [];
    const sub = c.onStateChange((s) => states.push(s));
    for (let i = 0; i < 9; i++) {
      expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
      expect(c.state).toBe('closed'); // below the volume threshold
    }
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(c.state).toBe('open');
    const hitsWhenOpened = u.hits;

    // Fail fast: no network, well under a millisecond per rejected call.
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const err = await rejection(c.request({ path: '/' }));
      times.push(performance.now() - t0);
      expect(err.code).toBe('MESH_ERR_BREAKER_OPEN');
      if (i === 0) {
        expect((err as unknown as MeshError).status).toBe(503);
        expect((err as unknown as MeshError).retryAfterSec).toBeGreaterThanOrEqual(1);
      }
    }
    times.sort((a, b) => a - b);
    expect(times[100]).toBeLessThan(0.5); // median
    expect(u.hits).toBe(hitsWhenOpened);

    await until(() => c.state === 'half-open', 3_000);
    failing = false;
    expect((await c.request({ path: '/' })).status).toBe(200);
    expect(c.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    sub.dispose();
    const metrics = (await renderMetrics()).body;
    expect(metrics).toMatch(/bw_breaker_state\{[^}]*upstream="breaker"[^}]*\} 0/);
    expect(metrics).toMatch(/bw_breaker_transitions_total\{[^}]*upstream="breaker"[^}]*to="open"[^}]*\} 1/);
  });

  it('counts slow successes as failures when slowCallMs is set, yet returns them', async () => {
    const u = await upstream((_req, res) => {
      setTimeout(() => res.end('late'), 30);
    });
    const c = client('slow', u.url, {
      retry: { maxRetries: 0 },
      breaker: { volumeThreshold: 3, errorThresholdPct: 50, slowCallMs: 10, resetTimeoutMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) expect((await c.request({ path: '/' })).text()).toBe('late');
    expect(c.state).toBe('open');
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_BREAKER_OPEN');
  });

  it('answers through the fallback while open', async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = createUpstream({
      name: 'fallback',
      baseUrl: u.url,
      policy: { retry: { maxRetries: 0 }, breaker: { volumeThreshold: 1, resetTimeoutMs: 60_000 } },
      fallback: (err) => staticResponse(200, { stale: true, because: err.code }),
    });
    cleanups.push(() => c.close());
    const first = await c.request({ path: '/' });
    expect(first.json()).toEqual({ stale: true, because: 'MESH_ERR_UPSTREAM_STATUS' });
    const second = await c.request({ path: '/' });
    expect(second.json()).toEqual({ stale: true, because: 'MESH_ERR_BREAKER_OPEN' });
    expect(u.hits).toBe(1);
  });
});

describe('timeouts and deadlines', () => {
  it('cuts a slow upstream at the per-try timeout', async () => {
    const u = await upstream((_req, res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client('slow-try', u.url, {
      timeoutMs: 100,
      deadlineMs: 2_000,
      retry: { maxRetries: 0 },
      breaker: NO_BREAKER,
    });
    const t0 = performance.now();
    const err = await rejection(c.request({ path: '/' }));
    const took = performance.now() - t0;
    expect(err.code).toBe('MESH_ERR_TIMEOUT');
    expect((err as unknown as MeshError).status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(600);
    expect(u.last?.['x-bw-timeout-ms']).toBe('100');
  });

  it('keeps every try and backoff within one deadline', async () => {
    const u = await upstream((_req, res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client('deadline-all', u.url, {
      timeoutMs: 150,
      deadlineMs: 400,
      retry: { maxRetries: 10, backoff: FAST_BACKOFF },
      breaker: NO_BREAKER,
    });
    const t0 = performance.now();
    const err = await rejection(c.request({ path: '/' }));
    const took = performance.now() - t0;
    expect(['MESH_ERR_DEADLINE', 'MESH_ERR_TIMEOUT']).toContain(err.code);
    expect(took).toBeLessThan(700);
    expect(u.hits).toBeLessThanOrEqual(3);
  });

  it('sends the remaining deadline (≤ 300 ms) and fails with MESH_ERR_DEADLINE', async () => {
    const u = await upstream((_req, res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client('deadline', u.url, { timeoutMs: 1_000, deadlineMs: 3_000, breaker: NO_BREAKER });
    const t0 = performance.now();
    const err = await rejection(c.request({ path: '/', deadline: Deadline.after(300) }));
    const took = performance.now() - t0;
    expect(err.code).toBe('MESH_ERR_DEADLINE');
    const sent = Number(u.last?.['x-bw-timeout-ms']);
    expect(sent).toBeGreaterThan(200);
    expect(sent).toBeLessThanOrEqual(300);
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(800);
  });

  it("reports a mesh callee's deadline 504 as the try's own timeout or deadline", async () => {
    const u = await upstream((_req, res) => {
      res.statusCode = 504;
      res.setHeader('content-type', 'application/problem+json');
      res.end(JSON.stringify({ status: 504, code: 'MESH_ERR_DEADLINE_EXPIRED' }));
    });
    const c = client('callee-deadline', u.url, {
      timeoutMs: 500,
      deadlineMs: 3_000,
      retry: { maxRetries: 0 },
      breaker: NO_BREAKER,
    });
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_TIMEOUT');
    expect((await rejection(c.request({ path: '/', deadlineMs: 300 }))).code).toBe('MESH_ERR_DEADLINE');
    // Any other 504 is the upstream's status.
    const v = await upstream((_req, res) => {
      res.statusCode = 504;
      res.end('gateway timeout');
    });
    const c2 = client('plain-504', v.url, { retry: { maxRetries: 0 }, breaker: NO_BREAKER });
    expect((await rejection(c2.request({ path: '/' }))).code).toBe('MESH_ERR_UPSTREAM_STATUS');
  });

  it('drops tries that timed out while queued in the pool; only the live try reaches the upstream', async () => {
    const hits: Record<string, number> = {};
    const u = await upstream((req, res) => {
      const path = req.url ?? '';
      hits[path] = (hits[path] ?? 0) + 1;
      if (path === '/hold') setTimeout(() => res.end('held'), 350);
      else res.end(path);
    });
    const c = client('queued-tries', u.url, {
      timeoutMs: 100,
      deadlineMs: 2_000,
      retry: { maxRetries: 6, backoff: FAST_BACKOFF, budget: { minRetriesPerSec: 100 } },
      breaker: NO_BREAKER,
      pool: { connections: 1 },
    });
    const hold = c.request({ path: '/hold', timeoutMs: 1_500 });
    await until(() => hits['/hold'] === 1);
    const res = await c.request({ path: '/b' });
    expect(res.text()).toBe('/b');
    expect(res.tries).toBeGreaterThan(1); // earlier tries timed out in the pool's queue
    expect(hits['/b']).toBe(1);
    expect((await hold).text()).toBe('held');
  });

  it('fails at once when the inherited deadline has already passed', async () => {
    const u = await upstream((_req, res) => res.end());
    const c = client('deadline-past', u.url);
    const err = await rejection(c.request({ path: '/', deadline: Deadline.after(-5) }));
    expect(err.code).toBe('MESH_ERR_DEADLINE');
    expect(u.hits).toBe(0);
  });

  it("ends with MESH_ERR_ABORTED when the caller's signal fires", async () => {
    const u = await upstream((_req, res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client('abort', u.url, { breaker: NO_BREAKER });
    const ac = new AbortController();
    const p = c.request({ path: '/', signal: ac.signal });
    await until(() => u.hits === 1);
    ac.abort();
    const err = await rejection(p);
    expect(err.code).toBe('MESH_ERR_ABORTED');
    expect((err as unknown as MeshError).status).toBe(499);
    expect(u.hits).toBe(1); // not retried
    const already = await rejection(c.request({ path: '/', signal: AbortSignal.abort() }));
    expect(already.code).toBe('MESH_ERR_ABORTED');
  });
});

describe('bulkhead', () => {
  it('rejects calls beyond the cap and the queue at once', async () => {
    const held: Array<() => void> = [];
    const u = await upstream((_req, res) => {
      held.push(() => res.end('ok'));
    });
    const c = client('bulkhead', u.url, { bulkhead: { maxConcurrent: 2, maxQueue: 1 }, breaker: NO_BREAKER });
    const inFlight = [c.request({ path: '/' }), c.request({ path: '/' }), c.request({ path: '/' })];
    await until(() => u.hits === 2);
    expect(c.stats()).toMatchObject({ inFlight: 2, queued: 1 });
    const t0 = performance.now();
    const err = await rejection(c.request({ path: '/' }));
    expect(performance.now() - t0).toBeLessThan(20);
    expect(err.code).toBe('MESH_ERR_BULKHEAD_FULL');
    expect((err as unknown as MeshError).status).toBe(503);
    // Releasing lets the queued call through.
    for (let i = 0; i < 3; i++) {
      await until(() => held.length > 0);
      held.shift()?.();
    }
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(c.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});

describe('bulkhead queue and the deadline', () => {
  it('a queued call gives up at its deadline with MESH_ERR_DEADLINE', async () => {
    const held: Array<() => void> = [];
    const u = await upstream((_req, res) => {
      held.push(() => res.end('ok'));
    });
    const c = client('queue-deadline', u.url, {
      bulkhead: { maxConcurrent: 1, maxQueue: 4 },
      breaker: NO_BREAKER,
    });
    const first = c.request({ path: '/' });
    await until(() => u.hits === 1);
    const t0 = performance.now();
    const err = await rejection(c.request({ path: '/', deadlineMs: 150 }));
    const took = performance.now() - t0;
    expect(err.code).toBe('MESH_ERR_DEADLINE');
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(600);
    expect(c.stats().queued).toBe(0);
    held.shift()?.();
    expect((await first).status).toBe(200);
  });
});

describe('streaming', () => {
  it('cuts a streaming body at the deadline', async () => {
    const u = await upstream((_req, res) => {
      res.write('first');
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client('stream-deadline', u.url, { timeoutMs: 100, deadlineMs: 300, breaker: NO_BREAKER });
    const t0 = performance.now();
    const res = await c.stream({ path: '/' });
    expect(res.status).toBe(200);
    let text = '';
    const err = await rejection(
      (async () => {
        for await (const chunk of res.body) text += chunk;
      })(),
    );
    expect(text).toBe('first');
    expect(err.code).toBe('MESH_ERR_DEADLINE');
    expect(performance.now() - t0).toBeLessThan(900);
  });

  it('a body cut mid-stream closes unended and is never an unhandled error, even piped with no error listener', async () => {
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('0123456789', () => res.socket?.destroy());
    });
    const unhandled: unknown[] = [];
    const onError = (e: unknown) => unhandled.push(e);
    process.on('uncaughtException', onError);
    cleanups.push(async () => void process.off('uncaughtException', onError));
    const c = client('stream-cut', u.url, { breaker: NO_BREAKER });
    const res = await c.stream({ path: '/' });
    expect(res.status).toBe(200);
    // What the gateway does: pipe, and watch 'close' rather than add an 'error' listener.
    const closed = new Promise<boolean>((resolve) =>
      res.body.once('close', () => resolve(res.body.readableEnded)),
    );
    res.body.pipe(new PassThrough().resume());
    expect(await closed).toBe(false);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });

  it('sendTo writes the body straight into a Writable, shows each chunk to the observer, ends it and calls done once it closed', async () => {
    const u = await upstream((_req, res) => {
      res.write('ab');
      setTimeout(() => res.end('cd'), 20);
    });
    const c = client('stream-send', u.url, { breaker: NO_BREAKER });
    const res = await c.stream({ path: '/' });
    expect(res.status).toBe(200);
    const target = new PassThrough();
    let written = '';
    target.on('data', (chunk: Buffer) => {
      written += chunk;
    });
    const seen: string[] = [];
    let ended = false;
    const done = new Promise<void>((resolve) =>
      res.sendTo(target, resolve, {
        chunk: (chunk) => seen.push(String(chunk)),
        end: () => {
          ended = true;
        },
      }),
    );
    await done;
    expect(written).toBe('abcd');
    expect(seen.join('')).toBe('abcd');
    expect(ended).toBe(true);
    expect(target.writableFinished).toBe(true);
    expect(() => res.body).toThrow(/already/);
  });

  it('sendTo destroys the Writable when the upstream cuts the body, and never tells the observer it ended', async () => {
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('0123456789', () => res.socket?.destroy());
    });
    const c = client('stream-send-cut', u.url, { breaker: NO_BREAKER });
    const res = await c.stream({ path: '/' });
    const target = new PassThrough().resume();
    let ended = false;
    await new Promise<void>((resolve) =>
      res.sendTo(target, resolve, { chunk: () => {}, end: () => (ended = true) }),
    );
    expect(target.destroyed).toBe(true);
    expect(target.writableFinished).toBe(false);
    expect(ended).toBe(false);
  });

  it('streams a request body in and the response body out, returning 5xx as is', async () => {
    const u = await upstream((req, res) => {
      res.statusCode = req.url === '/fail' ? 503 : 200;
      req.pipe(res);
    });
    const c = client('stream', u.url, { breaker: NO_BREAKER });
    const res = await c.stream({ method: 'POST', path: '/echo', body: Readable.from(['a', 'b', 'c']) });
    expect(res.status).toBe(200);
    let text = '';
    for await (const chunk of res.body) text += chunk;
    expect(text).toBe('abc');
    const failed = await c.stream({ method: 'POST', path: '/fail', body: Readable.from(['x']) });
    expect(failed.status).toBe(503);
    failed.body.resume();
    expect(u.hits).toBe(2); // a streamed body is never retried
  });

  it('retries a streamed GET after a 503 with a body, discarding the failed body without an unhandled error', async () => {
    const u = await upstream((_req, res, hit) => {
      res.statusCode = hit === 1 ? 503 : 200;
      res.end(hit === 1 ? 'unavailable' : 'ok');
    });
    const unhandled: unknown[] = [];
    const onError = (e: unknown) => unhandled.push(e);
    process.on('uncaughtException', onError);
    cleanups.push(async () => void process.off('uncaughtException', onError));
    const c = client('stream-retry', u.url, { breaker: NO_BREAKER, retry: { backoff: FAST_BACKOFF } });
    const res = await c.stream({ path: '/' });
    expect(res.status).toBe(200);
    let text = '';
    for await (const chunk of res.body) text += chunk;
    expect(text).toBe('ok');
    expect(u.hits).toBe(2);
    // The discarded body's stream must not surface an error later.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });
});

describe('errors and validation', () => {
  it('refuses a bad policy naming the field', () => {
    let err: unknown;
    try {
      createUpstream({
        name: 'bad',
        baseUrl: 'http://127.0.0.1:1',
        policy: { retry: { statuses: [404] }, nope: 1 } as never,
      });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err, 'MESH_ERR_INVALID_POLICY')).toBe(true);
    expect((err as Error).message).toContain('policy.bad.retry.statuses.0');
    expect((err as Error).message).toContain('nope');
    expect(() => createUpstream({ name: 'bad', baseUrl: 'not a url' })).toThrow(/baseUrl/);
  });

  it('freezes a parsed policy and applies defaults', () => {
    const p = parsePolicy({ timeoutMs: 500 }, 'x');
    expect(p.retry.statuses).toEqual([502, 503, 504]);
    expect(p.breaker.volumeThreshold).toBe(20);
    expect(Object.isFrozen(p.retry)).toBe(true);
  });

  it('refuses a buffered body over maxResponseBytes without buffering it', async () => {
    const u = await upstream((_req, res) => {
      res.end(Buffer.alloc(64 * 1024, 120));
    });
    const c = client('big', u.url, { retry: { maxRetries: 0 }, breaker: NO_BREAKER });
    const err = await rejection(c.request({ path: '/', maxResponseBytes: 1024 }));
    expect(err.code).toBe('MESH_ERR_RESPONSE_TOO_LARGE');
    expect((err as unknown as MeshError).status).toBe(502);
    expect((await c.request({ path: '/' })).body.length).toBe(64 * 1024);
  });

  it('refuses a bad path and calls on a closed client', async () => {
    const u = await upstream((_req, res) => res.end());
    const c = createUpstream({ name: 'closed', baseUrl: u.url });
    expect((await rejection(c.request({ path: 'no-slash' }))).code).toBe('MESH_ERR_INVALID_REQUEST');
    expect((await rejection(c.request({ path: '/', json: {}, body: 'x' }))).code).toBe(
      'MESH_ERR_INVALID_REQUEST',
    );
    const badHeader = await rejection(c.request({ path: '/', headers: { 'x-bad': 'a\r\nb' } }));
    expect(badHeader.code).toBe('MESH_ERR_INVALID_REQUEST');
    expect(c.state).toBe('closed');
    await c.close();
    expect((await rejection(c.request({ path: '/' }))).code).toBe('MESH_ERR_CLOSED');
  });

  it('records call durations by upstream, route template and outcome', async () => {
    const u = await upstream((_req, res) => res.end('ok'));
    const c = client('labels', u.url);
    await c.request({ path: '/products/42', route: '/products/:id' });
    const m = (await renderMetrics()).body;
    expect(m).toMatch(
      /bw_upstream_request_duration_seconds_count\{[^}]*upstream="labels",method="GET",route="\/products\/:id",outcome="success"[^}]*\} 1/,
    );
    expect(m).not.toContain('/products/42');
  });
});
