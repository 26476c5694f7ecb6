import { connect } from 'node:net';
import { join } from 'node:path';
import { renderMetrics } from '@breakwater/observability';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { mintDevToken } from '../src/dev-tokens.ts';
import {
  ADMIN_TOKEN,
  type Backends,
  GATEWAY_DIR,
  runNode,
  startBackends,
  startTestGateway,
  testConfig,
  writeConfig,
} from './helpers.ts';

let backends: Backends;
let gw: RunningGateway;
let configFile: string;

const ALICE = { apikey: 'alice-test-key-0123456789' };

beforeAll(async () => {
  backends = await startBackends();
  configFile = writeConfig(
    testConfig({
      rateLimits: [
        { name: 'api', route: 'api', limits: { second: 1000, hour: 100_000 }, limitBy: 'consumer' },
      ],
    }),
  );
  gw = await startTestGateway({
    configFile,
    redisUrl: backends.redis.url,
    upstreams: backends.upstreams,
  });
});

afterAll(async () => {
  await gw?.close();
  await backends?.stop();
});

/** Sends raw bytes and returns the raw response (for targets fetch would normalise). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c) => {
      out += c.toString();
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(request);
    setTimeout(() => s.end(), 300);
  });
}

describe('routing and forwarding', () => {
  it('strips the prefix, sets X-Forwarded-*, a request id and traceparent, and drops hop-by-hop and credential headers', async () => {
    const before = backends.svc.seen.length;
    const r = await fetch(`${gw.url}/api/svc/products/7?x=1`, {
      headers: {
        ...ALICE,
        'x-forwarded-for': '6.6.6.6',
        'x-consumer-username': 'admin',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-custom': 'kept',
      },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe('/svc/products/7?x=1');
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(body.headers['x-consumer-username']).toBe('alice');
    expect(body.headers.apikey).toBeUndefined();
    expect(body.headers['x-custom']).toBe('kept');
    expect(body.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(body.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(body.headers.traceparent).not.toContain('b7ad6b7169203331');
    expect(r.headers.get('x-request-id')).toBe(body.headers['x-request-id']);
    expect(r.headers.get('keep-alive')).not.toContain('77');
    expect(r.headers.get('x-upstream')).toBe('echo');
    expect(backends.svc.seen.length).toBe(before + 1);
  });

  it('removes hop-by-hop headers, including those named by Connection', async () => {
    const res = await raw(
      gw.port,
      'GET /api/svc/x HTTP/1.1\r\nHost: x\r\napikey: alice-test-key-0123456789\r\nConnection: close, x-drop-me\r\nx-drop-me: secret\r\nte: trailers\r\nproxy-authorization: Basic Zm9v\r\nkeep-alive: 5\r\n\r\n',
    );
    expect(res).toMatch(/^HTTP\/1.1 200/);
    const upstreamHeaders = JSON.parse(res.slice(res.indexOf('{'), res.lastIndexOf('}') + 1))
      .headers as Record<string, string>;
    for (const h of ['x-drop-me', 'te', 'proxy-authorization', 'keep-alive'])
      expect(upstreamHeaders[h], h).toBeUndefined();
  });

  it('matches prefixes on whole segments and picks the longest', async () => {
    const r = await fetch(`${gw.url}/api/other/things`, { headers: ALICE });
    expect(((await r.json()) as { url: string }).url).toBe('/things');
    // /api/svcX is not under /api/svc: it falls to the anonymous pages route, unchanged.
    const p = await fetch(`${gw.url}/api/svcX`);
    expect(((await p.json()) as { url: string }).url).toBe('/api/svcX');
  });

  it('answers 504 problem+json when the upstream outlives the per-try timeout', async () => {
    const t = performance.now();
    const r = await fetch(`${gw.url}/api/other/slow`, { headers: ALICE });
    expect(r.status).toBe(504);
    expect(((await r.json()) as { code: string }).code).toBe('GW_ERR_UPSTREAM_TIMEOUT');
    expect(performance.now() - t).toBeLessThan(1_400);
  });

  it('cuts the client connection when the upstream dies mid-body, and keeps serving', async () => {
    const r = await fetch(`${gw.url}/api/svc/broken`, { headers: ALICE });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('1000');
    // The client sees a cut body, never a short one passed off as whole.
    await expect(r.arrayBuffer()).rejects.toThrow();
    const next = await fetch(`${gw.url}/api/svc/after-broken`, { headers: ALICE });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { url: string }).url).toBe('/svc/after-broken');
  });

  it('answers 405 with Allow for a method the route does not take, without forwarding', async () => {
    const before = backends.other.seen.length;
    const r = await fetch(`${gw.url}/api/other/x`, { method: 'DELETE', headers: ALICE });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(backends.other.seen.length).toBe(before);
  });

  it('streams request bodies through and serves health and metrics on the main port', async () => {
    const big = Buffer.alloc(200_000, 1);
    const r = await fetch(`${gw.url}/api/svc/orders`, { method: 'POST', headers: ALICE, body: big });
    expect(((await r.json()) as { bodyBytes: number }).bodyBytes).toBe(200_000);
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${gw.url}/health/ready`)).status).toBe(200);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    expect(m).toMatch(
      /bw_gateway_requests_total\{[^}]*route="api"[^}]*consumer="alice"[^}]*status_class="2xx"/,
    );
    expect(m).toMatch(/bw_gateway_ratelimit_limit\{[^}]*route="api"[^}]*window="second"[^}]*\} 1000/);
    expect(m).toMatch(/bw_gateway_upstream_duration_seconds_bucket\{[^}]*route="api"/);
    expect(m).toMatch(/bw_breaker_state\{[^}]*upstream="svc"[^}]*\} 0/);
  });
});

describe('bad input is refused before anything is forwarded', () => {
  it('absolute-form, traversal and encoded-slash targets get 400', async () => {
    const before = backends.svc.seen.length;
    const absolute = await raw(
      gw.port,
      'GET http://evil.example/api/svc/x HTTP/1.1\r\nHost: evil.example\r\napikey: alice-test-key-0123456789\r\n\r\n',
    );
    expect(absolute).toMatch(/^HTTP\/1.1 400/);
    for (const target of [
      '/api/svc/../../etc/passwd',
      '/api/svc/%2e%2e/admin',
      '/api/svc/a%2fb',
      '/api/svc/%252e%252e/x',
      '/api//svc',
    ]) {
      const res = await raw(
        gw.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\napikey: alice-test-key-0123456789\r\nconnection: close\r\n\r\n`,
      );
      expect(res, target).toMatch(/^HTTP\/1.1 400/);
      expect(res).toContain('GW_ERR_BAD_PATH');
    }
    expect(backends.svc.seen.length).toBe(before);
  });

  it('oversized bodies get 413, declared or chunked, and are not forwarded whole', async () => {
    const before = backends.svc.seen.length;
    const declared = await fetch(`${gw.url}/api/svc/orders`, {
      method: 'POST',
      headers: { ...ALICE, 'content-length': String(2 * 1024 * 1024) },
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(declared.status).toBe(413);
    expect(backends.svc.seen.length).toBe(before);
    const chunks = async function* () {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024);
    };
    const chunked = await fetch(`${gw.url}/api/svc/orders`, {
      method: 'POST',
      headers: ALICE,
      body: ReadableStream.from(chunks()),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe('GW_ERR_BODY_TOO_LARGE');
  });

  it('header floods get 431 (too many fields, and too many bytes)', async () => {
    const before = backends.svc.seen.length;
    let many = '';
    for (let i = 0; i < 150; i++) many += `x-h${i}: v\r\n`;
    const a = await raw(gw.port, `GET /api/svc/x HTTP/1.1\r\nHost: x\r\n${many}connection: close\r\n\r\n`);
    expect(a).toMatch(/^HTTP\/1.1 431/);
    const b = await raw(
      gw.port,
      `GET /api/svc/x HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(40_000)}\r\n\r\n`,
    );
    expect(b).toMatch(/^HTTP\/1.1 431/);
    expect(backends.svc.seen.length).toBe(before);
  });
});

describe('authentication', () => {
  const loaded = () => loadConfig(configFile);
  const hsSecret = new TextEncoder().encode('test-only-hs256-secret-0123456789abcdef');
  const status = async (headers: Record<string, string>, path = '/api/svc/x') => {
    const r = await fetch(`${gw.url}${path}`, { headers });
    const body = (await r.json()) as { code?: string; detail?: string };
    return { status: r.status, body, www: r.headers.get('www-authenticate') };
  };

  it('accepts HS256, RS256 and ES256 tokens from the dev CLI and an API key', async () => {
    const { config, baseDir } = loaded();
    for (const algorithm of ['HS256', 'RS256', 'ES256'] as const) {
      const token = await mintDevToken(config, baseDir, 'bob', { algorithm });
      const r = await status({ authorization: `Bearer ${token}` });
      expect(r.status, algorithm).toBe(200);
    }
    expect((await status(ALICE)).status).toBe(200);
  });

  it('refuses missing, expired, wrongly signed, alg-swapped and alg none tokens with 401 and no reason', async () => {
    const missing = await status({});
    expect(missing.status).toBe(401);
    expect(missing.www).toContain('Bearer');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('bob-hs256')
      .setExpirationTime(now - 60)
      .sign(hsSecret);
    expect((await status({ authorization: `Bearer ${expired}` })).body.detail).toBe('Token expired');
    const wrongKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('bob-hs256')
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-000'));
    // An RS256 credential presented as HS256 (signed with the public key as the HMAC secret).
    const swapped = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('bob-rs256')
      .setExpirationTime(now + 60)
      .sign(hsSecret);
    const none = new UnsecuredJWT({})
      .setIssuer('bob-hs256')
      .setExpirationTime(now + 60)
      .encode();
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('bob-hs256')
      .sign(hsSecret);
    for (const [name, token] of Object.entries({ wrongKey, swapped, none, noExp, garbage: 'a.b.c' })) {
      const r = await status({ authorization: `Bearer ${token}` });
      expect(r.status, name).toBe(401);
      expect(r.body.code).toBe('GW_ERR_UNAUTHENTICATED');
      expect(r.body.detail, name).toBe('Invalid token');
    }
  });

  it('refuses an unknown API key with 401 and a consumer not allowed on a route with 403', async () => {
    const unknown = await status({ apikey: 'no-such-key-0123456789' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toBe('Invalid API key');
    const forbidden = await status(ALICE, '/api/private/x');
    expect(forbidden.status).toBe(403);
    const { config, baseDir } = loaded();
    const token = await mintDevToken(config, baseDir, 'bob');
    expect((await status({ authorization: `Bearer ${token}` }, '/api/private/x')).status).toBe(200);
  });

  it('serves anonymous routes without credentials', async () => {
    const r = await fetch(`${gw.url}/index.html`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { headers: Record<string, string> }).headers['x-anonymous-consumer']).toBe(
      'true',
    );
  });
});

describe('admin API', () => {
  it('refuses a bad token with 401, and a malformed payload with 400 leaving the limits unchanged', async () => {
    const url = `http://127.0.0.1:${gw.adminPort}/admin/limits`;
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const bodies = [
      '{not json',
      JSON.stringify({ policy: 'api', limits: { second: -5 } }),
      JSON.stringify({ policy: 'api', limits: { minute: 10 } }),
      JSON.stringify({ policy: 'api', limits: { second: 10 }, extra: true }),
      JSON.stringify({ policy: 'api', limits: { second: 200_000 } }),
    ];
    for (const body of bodies) {
      const r = await fetch(url, { method: 'PUT', headers: auth, body });
      expect(r.status, body).toBe(400);
    }
    const view = (await (await fetch(url, { headers: auth })).json()) as {
      limits: { policy: string; effective: Record<string, number>; override: unknown }[];
    };
    const api = view.limits.find((l) => l.policy === 'api');
    expect(api?.effective).toEqual({ second: 1000, hour: 100_000 });
    expect(api?.override).toBeNull();
    expect(await backends.redis.url).toBeTruthy();
  });

  it('the CLI sets, shows and resets a limit through the admin API, and the next request carries it', async () => {
    const env = { GATEWAY_ADMIN_URL: `http://127.0.0.1:${gw.adminPort}`, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    const cli = (...args: string[]) => runNode([join(GATEWAY_DIR, 'src/cli.ts'), ...args], env);
    const set = await cli('limits', 'set', '--route', 'api', 'second=900');
    expect(set.code, set.err).toBe(0);
    expect(JSON.parse(set.out).effective).toEqual({ second: 900, hour: 100_000 });
    const r = await fetch(`${gw.url}/api/svc/x`, { headers: ALICE });
    expect(r.headers.get('ratelimit-policy')).toBe('"per-second";q=900;w=1, "per-hour";q=100000;w=3600');
    expect((await renderMetrics()).body).toMatch(
      /bw_gateway_ratelimit_limit\{[^}]*route="api"[^}]*window="second"[^}]*\} 900/,
    );
    const get = await cli('limits', 'get');
    expect(JSON.parse(get.out).limits.find((l: { policy: string }) => l.policy === 'api').override).toEqual({
      second: 900,
    });
    expect((await cli('limits', 'set', 'api', 'second=abc')).code).toBe(2);
    const reset = await cli('limits', 'reset', 'api');
    expect(JSON.parse(reset.out).effective).toEqual({ second: 1000, hour: 100_000 });
    const bad = await runNode([join(GATEWAY_DIR, 'src/cli.ts'), 'limits', 'get'], {
      ...env,
      GATEWAY_ADMIN_TOKEN: 'nope',
    });
    expect(bad.code).toBe(1);
  });

  it('shows the running config with secrets redacted', async () => {
    const r = await fetch(`http://127.0.0.1:${gw.adminPort}/admin/config`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).toContain('"routes"');
    expect(text).not.toContain('alice-test-key-0123456789');
    expect(text).not.toContain('test-only-hs256-secret');
  });
});
