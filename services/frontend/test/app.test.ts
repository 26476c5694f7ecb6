/**
 * The frontend service on a real port: the page and its modules, /config.json
 * from the environment, problem+json for unknown files, the server kit's
 * health and metrics, and configuration refused with the variable named.
 */
import type { ServiceApp } from '@breakwater/mesh/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

let kit: ServiceApp;
let base: string;

beforeAll(async () => {
  const config = loadConfig({ FRONTEND_API_KEY: 'public-key-for-test', FRONTEND_POLL_TIMEOUT_MS: '30000' });
  kit = buildApp(config, { server: { signals: [], drainDelayMs: 0, accessLog: false } });
  const { port } = await kit.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => kit?.shutdown('test done'));

describe('frontend service', () => {
  it('serves the page with a same-origin Content-Security-Policy and a request id', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(res.headers.get('x-request-id')).toMatch(/.+/);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/js/main.js"></script>');
    expect(html).toContain('id="catalog-banner"');
  });

  it('serves every module the page imports, as JavaScript', async () => {
    const seen = new Set<string>();
    const queue = ['/js/main.js'];
    while (queue.length > 0 && seen.size < 20) {
      const path = queue.shift() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
      for (const m of (await res.text()).matchAll(/from '\.\/([a-z-]+\.js)'/g)) queue.push(`/js/${m[1]}`);
    }
    expect([...seen].sort()).toEqual([
      '/js/api.js',
      '/js/backoff.js',
      '/js/banner.js',
      '/js/catalog.js',
      '/js/main.js',
      '/js/orders.js',
    ]);
  });

  it('answers 304 to a revalidation with the same ETag', async () => {
    const first = await fetch(`${base}/styles.css`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${base}/styles.css`, { headers: { 'If-None-Match': etag as string } });
    expect(again.status).toBe(304);
  });

  it('serves /config.json from the environment, never cached', async () => {
    const res = await fetch(`${base}/config.json`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      apiBase: '',
      apiKey: 'public-key-for-test',
      poll: { initialMs: 500, maxMs: 5_000, timeoutMs: 30_000 },
    });
  });

  it('answers unknown files with problem+json, without touching the file system', async () => {
    for (const path of ['/js/nope.js', '/js/..%2F..%2Fpackage.json', '/src/app.ts']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { title: string }).title, path).toBeTruthy();
    }
  });

  it('has the server kit: health, readiness and metrics by route template', async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/bw_http_server_request_duration_seconds_count\{[^}]*route="\/js\/:module"/);
  });
});

describe('frontend configuration', () => {
  it('names the variable it refuses', () => {
    expect(() => loadConfig({ FRONTEND_API_BASE: 'not a url' })).toThrow(/FRONTEND_API_BASE/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ FRONTEND_POLL_INITIAL_MS: '2000', FRONTEND_POLL_MAX_MS: '1000' })).toThrow(
      /FRONTEND_POLL_MAX_MS/,
    );
  });

  it('lets the page call an API on another origin when FRONTEND_API_BASE says so', async () => {
    const config = loadConfig({ FRONTEND_API_BASE: 'https://api.example.test' });
    const other = buildApp(config, { server: { signals: [], drainDelayMs: 0, accessLog: false } });
    const { port } = await other.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.headers.get('content-security-policy')).toContain(
        "connect-src 'self' https://api.example.test",
      );
    } finally {
      await other.shutdown('test done');
    }
  });
});
