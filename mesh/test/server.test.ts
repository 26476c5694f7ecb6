import { Writable } from 'node:stream';
import { createLogger, renderMetrics } from '@breakwater/observability';
import express from 'express';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstream } from '../src/client/index.ts';
import { MeshError } from '../src/errors.ts';
import { problem } from '../src/problem.ts';
import { createServiceApp, type ServiceApp } from '../src/server/index.ts';
import { until } from './helpers.ts';

const TOKEN = 'test-admin-token-0123456789';

let kit: ServiceApp;
let pool: Pool;
let baseUrl = '';
let admin: Pool;
let ready = true;
const aborted: number[] = [];
let workStarted = 0;
const logLines: Array<Record<string, unknown>> = [];
const logSink = new Writable({
  write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n')) if (l) logLines.push(JSON.parse(l));
    cb();
  },
});

class OutOfStock extends Error {
  readonly status = 409;
  readonly code = 'CATALOG_ERR_OUT_OF_STOCK';
}

beforeAll(async () => {
  kit = createServiceApp({
    service: 'kit',
    signals: [],
    drainDelayMs: 0,
    bodyLimit: 1024,
    logger: createLogger({ service: 'kit', level: 'info', destination: logSink }),
    admin: { port: 0, token: TOKEN },
    routes: (r) => {
      r.get('/items/:id', (req, res) => {
        res.json({ id: req.params.id, requestId: req.bw.requestId });
      });
      r.post('/items', (req, res) => {
        res.status(201).json(req.body);
      });
      r.get('/problem', () => {
        throw problem(409, 'KIT_ERR_CONFLICT', 'already there', { item: 7 });
      });
      r.get('/coded', () => {
        throw new OutOfStock('none left');
      });
      r.get('/mesh', () => {
        throw new MeshError('MESH_ERR_BREAKER_OPEN', 'catalog is down', {
          retryAfterSec: 3,
          upstream: 'catalog',
        });
      });
      const nested = express.Router();
      nested.get('/:id', (req, res) => {
        res.json({ nested: req.params.id });
      });
      r.use('/nested', nested);
      r.get('/unreachable', async (req) => {
        // Nothing listens on port 1 of loopback: connection refused.
        const dead = createUpstream({
          name: 'dead',
          baseUrl: 'http://127.0.0.1:1',
          policy: { retry: { maxRetries: 0 }, breaker: { enabled: false } },
        });
        try {
          await dead.request({ path: '/', signal: req.bw.signal });
        } finally {
          await dead.close();
        }
      });
      r.get('/crash', () => {
        throw new Error('db password is hunter2');
      });
      r.get('/report', (req, res) => {
        req.bw.requireBudget(2_000, 'the report query');
        res.json({ ran: true });
      });
      r.get('/work', async (req, res) => {
        if (req.headers['x-bw-timeout-ms'] === '100') workStarted++;
        const started = performance.now();
        // A 2 s "query" that honours the request's signal.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2_000);
          req.bw.signal.addEventListener('abort', () => {
            clearTimeout(t);
            aborted.push(performance.now() - started);
            resolve();
          });
        });
        if (!res.headersSent) res.json({ remaining: req.bw.remainingMs() });
      });
    },
  });
  kit.addReadinessCheck('dependency', () => {
    if (!ready) throw new Error('dependency down');
  });
  const { port, adminPort } = await kit.listen();
  baseUrl = `http://127.0.0.1:${port}`;
  pool = new Pool(baseUrl, { connections: 32 });
  admin = new Pool(`http://127.0.0.1:${adminPort}`);
});

afterAll(async () => {
  await pool.close();
  await admin.close();
  await kit.shutdown();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await pool.request({ method: 'GET', path, headers });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

async function adminCall(method: 'GET' | 'PUT' | 'DELETE', body?: unknown, token = TOKEN) {
  const r = await admin.request({
    method,
    path: '/admin/faults',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, text, json: () => JSON.parse(text) };
}

describe('health and metrics', () => {
  it('answers live, and ready only while checks pass', async () => {
    expect((await get('/health/live')).status).toBe(200);
    expect((await get('/health/ready')).json()).toEqual({ status: 'ready', checks: { dependency: 'ok' } });
    ready = false;
    const down = await get('/health/ready');
    expect(down.status).toBe(503);
    expect(down.json()).toEqual({ status: 'not_ready', checks: { dependency: 'dependency down' } });
    ready = true;
  });

  it('serves Prometheus text, and OpenMetrics when asked', async () => {
    await get('/items/1');
    const text = await get('/metrics');
    expect(text.headers['content-type']).toContain('text/plain');
    expect(text.text).toMatch(/bw_http_server_request_duration_seconds_count\{[^}]*route="\/items\/:id"/);
    expect(text.text).toContain('process_cpu_seconds_total');
    expect(text.text).toContain('nodejs_eventloop_lag_seconds');
    const om = await get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' });
    expect(om.headers['content-type']).toContain('application/openmetrics-text');
    expect(om.text.trimEnd().endsWith('# EOF')).toBe(true);
    // Counters keep their _total name in the next plain scrape.
    expect((await get('/metrics')).text).toContain('# TYPE bw_fault_injected_total counter');
  });
});

describe('request ids, routes and problems', () => {
  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const given = await get('/items/1', { 'x-request-id': 'abc-123' });
    expect(given.headers['x-request-id']).toBe('abc-123');
    expect(given.json().requestId).toBe('abc-123');
    const bad = await get('/items/1', { 'x-request-id': 'has spaces and <script>' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('renders thrown problems, coded errors and mesh errors as problem+json with the request id', async () => {
    const p = await get('/problem', { 'x-request-id': 'rid-1' });
    expect(p.status).toBe(409);
    expect(p.headers['content-type']).toContain('application/problem+json');
    expect(p.json()).toMatchObject({
      status: 409,
      code: 'KIT_ERR_CONFLICT',
      detail: 'already there',
      item: 7,
      request_id: 'rid-1',
      instance: '/problem',
    });
    const coded = await get('/coded');
    expect(coded.status).toBe(409);
    expect(coded.json().code).toBe('CATALOG_ERR_OUT_OF_STOCK');
    const mesh = await get('/mesh');
    expect(mesh.status).toBe(503);
    expect(mesh.headers['retry-after']).toBe('3');
    expect(mesh.json()).toMatchObject({ code: 'MESH_ERR_BREAKER_OPEN', upstream: 'catalog' });
  });

  it('hides unexpected errors behind a 500', async () => {
    const r = await get('/crash');
    expect(r.status).toBe(500);
    expect(r.json().code).toBe('MESH_ERR_INTERNAL');
    expect(r.text).not.toContain('hunter2');
    // The details go to the log, with the request id, and an access-log line records the route template.
    const logged = logLines.find((l) => l.msg === 'unexpected error');
    expect(JSON.stringify(logged)).toContain('hunter2');
    await until(() => logLines.some((l) => l.msg === 'request' && l.route === '/crash' && l.status === 500));
  });

  it('answers 404, 400 and 413 as problems and labels unmatched routes', async () => {
    const nf = await get('/nowhere/123');
    expect(nf.status).toBe(404);
    expect(nf.json().code).toBe('MESH_ERR_NOT_FOUND');
    const post = (body: string) =>
      pool.request({ method: 'POST', path: '/items', headers: { 'content-type': 'application/json' }, body });
    const bad = await post('{oops');
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { code: string }).code).toBe('MESH_ERR_BAD_JSON');
    const big = await post(JSON.stringify({ x: 'y'.repeat(5_000) }));
    expect(big.statusCode).toBe(413);
    expect(((await big.body.json()) as { code: string }).code).toBe('MESH_ERR_BODY_TOO_LARGE');
    const ok = await post('{"a":1}');
    expect(ok.statusCode).toBe(201);
    await ok.body.dump();
    const m = (await renderMetrics()).body;
    expect(m).toMatch(
      /bw_http_server_request_duration_seconds_count\{[^}]*route="unmatched",status_class="4xx"/,
    );
    expect(m).not.toContain('/nowhere/123');
  });
});

describe('405 and unreachable upstreams', () => {
  it('answers a method a route does not serve with 405, an Allow header and problem+json', async () => {
    const call = async (method: string, path: string) => {
      const r = await pool.request({ method: method as 'GET', path });
      const text = await r.body.text();
      return { status: r.statusCode, headers: r.headers, body: text ? JSON.parse(text) : undefined };
    };
    const del = await call('DELETE', '/items/42');
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('GET, HEAD');
    expect(del.headers['content-type']).toContain('application/problem+json');
    expect(del.body).toMatchObject({
      code: 'MESH_ERR_METHOD_NOT_ALLOWED',
      status: 405,
      instance: '/items/42',
    });
    expect(del.body.request_id).toBe(del.headers['x-request-id']);
    const put = await call('PUT', '/items');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('POST');
    // Routes of a mounted router and the kit's own endpoints count too.
    const nested = await call('POST', '/nested/7');
    expect(nested.status).toBe(405);
    expect(nested.headers.allow).toBe('GET, HEAD');
    const health = await call('POST', '/health/live');
    expect(health.status).toBe(405);
    expect(health.headers.allow).toBe('GET, HEAD');
    // A path no route serves stays 404; a served method is unaffected.
    expect((await call('DELETE', '/nowhere')).status).toBe(404);
    expect((await call('GET', '/nested/7')).body).toEqual({ nested: '7' });
  });

  it('answers a refused connection to an upstream with 503 and Retry-After, not 502', async () => {
    const r = await get('/unreachable');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json()).toMatchObject({ code: 'MESH_ERR_CONNECT', upstream: 'dead', errno: 'ECONNREFUSED' });
  });
});

describe('deadlines', () => {
  it('answers 504 at once to a request whose deadline has passed', async () => {
    const before = aborted.length;
    const r = await get('/work', { 'x-bw-timeout-ms': '0' });
    expect(r.status).toBe(504);
    expect(r.json().code).toBe('MESH_ERR_DEADLINE_EXPIRED');
    expect(aborted.length).toBe(before); // the handler never ran
    expect((await get('/work', { 'grpc-timeout': '0m' })).status).toBe(504);
  });

  it('refuses to start work that needs more than the remaining budget', async () => {
    const short = await get('/report', { 'x-bw-timeout-ms': '300' });
    expect(short.status).toBe(504);
    expect(short.json()).toMatchObject({ code: 'MESH_ERR_DEADLINE_EXPIRED' });
    expect(short.json().detail).toContain('the report query needs 2000 ms');
    expect((await get('/report', { 'x-bw-timeout-ms': '5000' })).json()).toEqual({ ran: true });
    expect((await get('/report')).json()).toEqual({ ran: true });
  });

  it('a 300 ms caller deadline reaches the callee, which stops its work', async () => {
    const c = createUpstream({
      name: 'kit-self',
      baseUrl,
    });
    try {
      const before = aborted.length;
      const t0 = performance.now();
      const err = await c.request({ path: '/work', deadlineMs: 300 }).catch((e: unknown) => e);
      expect((err as MeshError).code).toBe('MESH_ERR_DEADLINE');
      expect(performance.now() - t0).toBeLessThan(800);
      const end = performance.now() + 2_000;
      for (let i = 0; i < 400 && aborted.length === before && performance.now() < end; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(aborted.length).toBe(before + 1);
      // The callee stopped at its 300 ms budget (plus timer lag on a busy machine), far from the 2 s query.
      expect(aborted[before]).toBeLessThan(500);
      expect(aborted[before]).toBeGreaterThan(150);
    } finally {
      await c.close();
    }
  });
});

describe('fault filter', () => {
  it('refuses a wrong token and a bad payload without changing anything', async () => {
    expect((await adminCall('GET', undefined, 'wrong')).status).toBe(401);
    expect((await adminCall('PUT', { faults: [] }, '')).status).toBe(401);
    const put = await adminCall('PUT', {
      faults: [{ match: { pathPrefix: '/items' }, abort: { percent: 10, status: 503 } }],
    });
    expect(put.status).toBe(200);
    const bad = await adminCall('PUT', {
      faults: [{ match: { pathPrefix: 'items' }, abort: { percent: 150, status: 200 } }],
    });
    expect(bad.status).toBe(400);
    expect(bad.json().code).toBe('MESH_ERR_VALIDATION');
    expect(bad.json().detail).toContain('faults.0.abort.percent');
    const extra = await adminCall('PUT', { faults: [], surprise: true });
    expect(extra.status).toBe(400);
    expect((await adminCall('GET')).json().faults[0].abort.percent).toBe(10);
    expect((await adminCall('DELETE')).status).toBe(204);
    expect((await adminCall('GET')).json()).toEqual({ faults: [] });
  });

  it('aborts about 50 % of 1,000 requests, never faults health, and recovers when turned off', async () => {
    const put = await adminCall('PUT', {
      faults: [{ match: { method: 'GET', route: '/items/:id' }, abort: { percent: 50, status: 503 } }],
    });
    expect(put.status).toBe(200);
    let aborts = 0;
    let oks = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 1_000) {
          next++;
          const r = await pool.request({ method: 'GET', path: `/items/${next}` });
          await r.body.dump();
          if (r.statusCode === 503 && r.headers['x-bw-fault'] === 'abort') aborts++;
          else if (r.statusCode === 200) oks++;
        }
      }),
    );
    expect(aborts + oks).toBe(1_000);
    // Binomial(1000, 0.5): sd ≈ 15.8; ±5 sd.
    expect(aborts).toBeGreaterThan(420);
    expect(aborts).toBeLessThan(580);
    // Other routes and health are untouched.
    expect((await get('/health/live')).status).toBe(200);
    expect((await get('/problem')).status).toBe(409);
    const m = (await renderMetrics()).body;
    expect(m).toMatch(
      new RegExp(`bw_fault_injected_total\\{[^}]*route="/items/:id",kind="abort"[^}]*\\} ${aborts}`),
    );

    expect((await adminCall('DELETE')).status).toBe(204);
    for (let i = 0; i < 50; i++) expect((await get(`/items/${i}`)).status).toBe(200);
  });

  it('a fault delay longer than the deadline ends in a 504 and the handler never runs', async () => {
    await adminCall('PUT', { faults: [{ match: { route: '/work' }, delay: { percent: 100, ms: 300 } }] });
    const before = aborted.length;
    const r = await get('/work', { 'x-bw-timeout-ms': '100' });
    expect(r.status).toBe(504);
    expect(r.json().code).toBe('MESH_ERR_DEADLINE_EXPIRED');
    // Give the delay time to end: the handler must still not start.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(aborted.length).toBe(before);
    expect(workStarted).toBe(0);
    await adminCall('DELETE');
  });

  it('delays matching requests and never faults /health even with a catch-all rule', async () => {
    await adminCall('PUT', {
      faults: [
        {
          match: { pathPrefix: '/' },
          delay: { percent: 100, ms: 150 },
          abort: { percent: 100, status: 500 },
        },
      ],
    });
    const t0 = performance.now();
    const r = await get('/items/9');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(r.status).toBe(500);
    expect(r.json().code).toBe('MESH_ERR_FAULT_INJECTED');
    expect((await get('/health/ready')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    expect((await renderMetrics()).body).toMatch(
      /bw_fault_injected_total\{[^}]*route="\/",kind="delay"[^}]*\} 1/,
    );
    await adminCall('DELETE');
  });
});

describe('settings', () => {
  it('refuses unknown keys and bad values, naming the field', () => {
    expect(() => createServiceApp({ service: 'x', surprise: 1 } as never)).toThrow(/surprise/);
    expect(() => createServiceApp({ service: 'x', admin: { port: 1, token: 'short' } })).toThrow(
      /server\.admin\.token/,
    );
    expect(() => createServiceApp({ service: 'Bad Name' })).toThrow(/server\.service/);
  });
});

describe('listen', () => {
  it('lets two apps share one port with reusePort', async () => {
    const a = createServiceApp({ service: 'reuse-a', signals: [], drainDelayMs: 0, accessLog: false });
    const b = createServiceApp({ service: 'reuse-b', signals: [], drainDelayMs: 0, accessLog: false });
    try {
      const { port } = await a.listen({ reusePort: true });
      const second = await b.listen({ port, reusePort: true });
      expect(second.port).toBe(port);
      const p = new Pool(`http://127.0.0.1:${port}`);
      const r = await p.request({ method: 'GET', path: '/health/live' });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
      await p.close();
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  });

  it('a handler still running when its deadline answered 504 does not break the connection', async () => {
    const r1 = await get('/work', { 'x-bw-timeout-ms': '50' });
    expect(r1.status).toBe(504);
    expect(r1.json().code).toBe('MESH_ERR_DEADLINE_EXPIRED');
    // The same keep-alive pool still works.
    expect((await get('/items/5')).status).toBe(200);
  });
});
