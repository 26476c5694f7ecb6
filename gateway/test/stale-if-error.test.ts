/**
 * Stale-if-error at the edge, end to end: a real gateway (real Redis), a real
 * upstream on loopback that is stopped, answers 503 or trips the breaker.
 */
import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { renderMetrics } from '@breakwater/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/app.ts';
import { startTestGateway, startUpstream, type TestUpstream, testConfig, writeConfig } from './helpers.ts';

const ALICE = { apikey: 'alice-test-key-0123456789' };
const CACHE_STATUS = /^breakwater; hit; fwd=stale(; fwd-status=\d+)?; ttl=-?\d+; detail=[a-z-]+$/;

let redis: RedisHandle;
let up: TestUpstream;
let gw: RunningGateway;
let configFile: string;
/** What the upstream answers: 'ok', or a 503 for every request. */
let mode: 'ok' | '503' = 'ok';
let served = 0;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream((req, res) => {
    if (mode === '503') {
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end('{"status":503}');
      return;
    }
    served += 1;
    const url = req.url ?? '';
    const cacheControl = url.includes('nostore')
      ? 'no-store'
      : url.includes('private')
        ? 'private, max-age=60'
        : 'max-age=1, stale-if-error=120';
    const body = url.includes('big') ? 'x'.repeat(5_000) : JSON.stringify({ url, n: served });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheControl });
    res.end(body);
  });
  const policy = (volumeThreshold: number) => ({
    timeoutMs: 500,
    deadlineMs: 1000,
    retry: { maxRetries: 0 },
    breaker: { errorThresholdPct: 50, volumeThreshold, resetTimeoutMs: 60_000, rollingWindowMs: 10_000 },
    bulkhead: { maxConcurrent: 64, maxQueue: 64 },
  });
  const config = testConfig({
    // svc's breaker never opens in these tests; flaky's opens after 5 calls.
    upstreams: { svc: policy(10_000), flaky: policy(5) },
    routes: [
      {
        name: 'catalog',
        path: '/api/catalog',
        stripPrefix: '/api/catalog',
        methods: ['GET', 'HEAD'],
        upstream: 'svc',
        staleIfError: { defaultSeconds: 30, maxEntries: 3, maxBytes: 100_000, maxEntryBytes: 1_000 },
      },
      { name: 'plain', path: '/api/plain', methods: ['GET'], upstream: 'svc' },
      { name: 'flaky', path: '/api/flaky', methods: ['GET'], upstream: 'flaky', staleIfError: {} },
    ],
  });
  configFile = writeConfig(config);
  gw = await startTestGateway({
    configFile,
    redisUrl: redis.url,
    upstreams: { svc: up.url, flaky: up.url },
  });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

const get = (path: string, init: RequestInit = {}) => fetch(`${gw.url}${path}`, { headers: ALICE, ...init });

describe('stale-if-error', () => {
  it('serves the last good answer with Age and Cache-Status while the upstream is down; keeps no no-store, private or oversized answer; respects the entry cap', async () => {
    const first = await get('/api/catalog/products/1');
    expect(first.status).toBe(200);
    const body = await first.text();
    expect(first.headers.get('cache-status')).toBeNull(); // a fresh answer is not marked
    for (const p of [
      '/products/nostore',
      '/products/private',
      '/products/big',
      '/products?limit=2',
      '/products?limit=3',
    ])
      expect((await (await get(`/api/catalog${p}`)).text()).length).toBeGreaterThan(0);
    expect((await (await get('/api/plain/x')).text()).length).toBeGreaterThan(0);

    await up.stop();
    // Kept: the three most recent cacheable answers (maxEntries 3): /products/1, ?limit=2, ?limit=3.
    const stale = await get('/api/catalog/products/1');
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
    expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(stale.headers.get('cache-status')).toMatch(CACHE_STATUS);
    expect(stale.headers.get('cache-status')).toContain('detail=upstream-unreachable');
    expect(stale.headers.get('x-request-id')).toBeTruthy();
    const head = await get('/api/catalog/products/1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-status')).toMatch(CACHE_STATUS);
    expect((await get('/api/catalog/products?limit=3')).status).toBe(200);

    for (const p of ['/products/nostore', '/products/private', '/products/big', '/products/never-seen']) {
      const r = await get(`/api/catalog${p}`);
      expect(r.status, p).toBe(502);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      await r.text();
    }
    // A route without staleIfError keeps nothing.
    expect((await get('/api/plain/x')).status).toBe(502);
    await up.start();
  });

  it('evicts the least recently used answer past maxEntries', async () => {
    for (const p of ['/a', '/b', '/c', '/d']) expect((await get(`/api/catalog${p}`)).status).toBe(200);
    await up.stop();
    expect((await get('/api/catalog/a')).status).toBe(502);
    for (const p of ['/b', '/c', '/d']) expect((await get(`/api/catalog${p}`)).status).toBe(200);
    await up.start();
  });

  it('stands in for a 503 from the upstream, naming its status', async () => {
    expect((await get('/api/catalog/e')).status).toBe(200);
    mode = '503';
    const r = await get('/api/catalog/e');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-status')).toContain('fwd-status=503; ');
    expect(r.headers.get('cache-status')).toContain('detail=upstream-status');
    mode = 'ok';
  });

  it('serves stale while the breaker is open, and counts stale answers by reason', async () => {
    expect((await get('/api/flaky/f')).status).toBe(200);
    await up.stop();
    let detail = '';
    for (let i = 0; i < 40 && !detail.includes('breaker-open'); i++) {
      const r = await get('/api/flaky/f');
      expect(r.status).toBe(200);
      await r.text();
      detail = r.headers.get('cache-status') ?? '';
    }
    expect(detail).toContain('detail=breaker-open');
    const metrics = (await renderMetrics()).body;
    expect(metrics).toMatch(
      /bw_gateway_stale_answers_total\{[^}]*route="flaky"[^}]*reason="breaker-open"[^}]*\} [1-9]/,
    );
    await up.start();
  });
});

describe('stale-if-error across gateway processes', () => {
  it('serves stale through a process that never saw the answer: kept answers are shared through Redis', async () => {
    const second = await startTestGateway({
      configFile,
      redisUrl: redis.url,
      upstreams: { svc: up.url, flaky: up.url },
    });
    try {
      expect((await get('/api/catalog/shared')).status).toBe(200); // through the first process only
      const cache = second.state().stale.get('catalog');
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && !cache?.find('/api/catalog/shared', {}, Date.now()))
        await new Promise((r) => setTimeout(r, 20));
      await up.stop();
      const r = await fetch(`${second.url}/api/catalog/shared`, { headers: ALICE });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { url: string }).url).toBe('/shared');
      expect(r.headers.get('cache-status')).toMatch(CACHE_STATUS);
    } finally {
      await up.start();
      await second.close();
    }
  });
});
