/**
 * mTLS and authorization with real TLS servers on loopback: the server kit
 * with a workload identity, the mesh client with its own, certificates from
 * a real CA (issuer.ts), and every way a caller can be refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { createLogger, renderMetrics } from '@breakwater/observability';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstream } from '../src/client/index.ts';
import { createRootCa, type RootCa } from '../src/identity/issuer.ts';
import { spiffeId } from '../src/identity/spiffe.ts';
import { WorkloadIdentity, writeIdentityFiles } from '../src/identity/workload-identity.ts';
import { createServiceApp, type ServiceApp } from '../src/server/index.ts';
import { rejection, until } from './helpers.ts';

const HOUR = 3_600_000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-mtls-'));
let ca: RootCa;
let otherCa: RootCa;
const identities: WorkloadIdentity[] = [];
const servers: ServiceApp[] = [];
const logLines: Array<Record<string, unknown>> = [];
const logSink = new Writable({
  write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n')) if (l) logLines.push(JSON.parse(l));
    cb();
  },
});

/** A folder with a fresh certificate for `sa` (issued by `by`, default the run's CA). */
async function identityFor(
  sa: string,
  o: { by?: RootCa; lifetimeMs?: number; now?: number; ns?: string } = {},
) {
  const dir = path.join(tmp, `${sa}-${identities.length}`);
  const leaf = await (o.by ?? ca).issue(spiffeId(sa, o.ns), o.lifetimeMs ?? HOUR, o.now);
  writeIdentityFiles(dir, { ...leaf, ca: ca.cert });
  const id = new WorkloadIdentity(dir);
  identities.push(id);
  return id;
}

async function startService(
  sa: string,
  lifetimeMs = HOUR,
): Promise<{ url: string; identity: WorkloadIdentity }> {
  const identity = await identityFor(sa, { lifetimeMs });
  const kit = createServiceApp({
    service: sa,
    signals: [],
    drainDelayMs: 0,
    identity,
    logger: createLogger({ service: sa, level: 'info', destination: logSink }),
    routes: (r) => {
      r.get('/products', (_req, res) => {
        res.json({ ok: true });
      });
      r.get('/products/slow', (_req, res) => {
        setTimeout(() => res.json({ slow: true }), 300);
      });
    },
  });
  const { port } = await kit.listen({ port: 0 });
  servers.push(kit);
  return { url: `https://127.0.0.1:${port}`, identity };
}

let catalog: string;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createRootCa(), createRootCa({ name: 'somebody else' })]);
  catalog = (await startService('catalog')).url;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  for (const i of identities) i.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** One raw request with a hand-picked client certificate (or none); resolves the status or rejects. */
async function rawGet(url: string, path_: string, client?: { cert: Buffer; key: Buffer }): Promise<number> {
  const agent = new Agent({
    connect: {
      ca: ca.cert,
      ...(client ?? {}),
      checkServerIdentity: () => undefined,
    },
  });
  try {
    const res = await request(`${url}${path_}`, { dispatcher: agent });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const { body } = await renderMetrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('mTLS between mesh client and server kit', () => {
  it('serves a caller the policy allows (orders -> catalog) over mTLS', async () => {
    const up = createUpstream({ name: 'catalog', baseUrl: catalog, identity: await identityFor('orders') });
    const res = await up.request({ path: '/products' });
    expect(res.status).toBe(200);
    await up.close();
  });

  it('refuses a caller the policy has no edge for with 403 MESH_ERR_FORBIDDEN, logged and counted', async () => {
    const before = await metricValue('bw_authz_denied_total', {
      source: 'notifications',
      destination: 'catalog',
    });
    const up = createUpstream({
      name: 'catalog',
      baseUrl: catalog,
      identity: await identityFor('notifications'),
      policy: { retry: { maxRetries: 0 } },
    });
    const res = await up.request({ path: '/products', throwOnStatus: false });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json() as { code: string; detail: string };
    expect(body.code).toBe('MESH_ERR_FORBIDDEN');
    expect(body.detail).toContain('no edge notifications -> catalog');
    expect(
      await metricValue('bw_authz_denied_total', { source: 'notifications', destination: 'catalog' }),
    ).toBe(before + 1);
    expect(
      logLines.some((l) => l.msg === 'authorization denied' && l.caller === spiffeId('notifications')),
    ).toBe(true);
    await up.close();
  });

  it("refuses an allowed caller a method or path outside its edge's rules: 403 naming the check, logged and counted", async () => {
    const labels = { source: 'orders', destination: 'catalog' };
    const before = await metricValue('bw_authz_denied_total', labels);
    const up = createUpstream({
      name: 'catalog',
      baseUrl: catalog,
      identity: await identityFor('orders'),
      policy: { retry: { maxRetries: 0 } },
    });
    // mesh/policy.yaml: orders -> catalog only POST /reservations, DELETE /reservations/*, GET /products
    expect((await up.request({ path: '/products' })).status).toBe(200);
    const wrongMethod = await up.request({
      method: 'POST',
      path: '/products',
      body: '{}',
      throwOnStatus: false,
    });
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.headers['content-type']).toContain('application/problem+json');
    const body = wrongMethod.json() as { code: string; detail: string };
    expect(body.code).toBe('MESH_ERR_FORBIDDEN');
    expect(body.detail).toContain('orders may not POST /products on catalog');
    // GET /products is exact: orders' probe path, nothing below it
    const wrongPath = await up.request({ path: '/products/slow', throwOnStatus: false });
    expect(wrongPath.status).toBe(403);
    expect(await metricValue('bw_authz_denied_total', labels)).toBe(before + 2);
    expect(
      logLines.some(
        (l) =>
          l.msg === 'authorization denied' &&
          l.caller === spiffeId('orders') &&
          l.method === 'POST' &&
          String(l.check).startsWith('orders may not POST /products'),
      ),
    ).toBe(true);
    await up.close();
  });

  it('refuses an identity that is no workload of the policy, naming it unknown', async () => {
    const up = createUpstream({ name: 'catalog', baseUrl: catalog, identity: await identityFor('intruder') });
    const res = await up.request({ path: '/products', throwOnStatus: false });
    expect(res.status).toBe(403);
    expect((res.json() as { detail: string }).detail).toContain('unknown identity');
    await up.close();
  });

  it("lets Prometheus' identity GET /metrics and nothing else; health is open to any mesh certificate", async () => {
    const prom = await identityFor('kube-prometheus-stack-prometheus', { ns: 'monitoring' });
    const supervisor = await identityFor('supervisor');
    const asProm = { cert: prom.current.cert, key: prom.current.key };
    expect(await rawGet(catalog, '/metrics', asProm)).toBe(200);
    expect(await rawGet(catalog, '/products', asProm)).toBe(403);
    expect(
      await rawGet(catalog, '/health/ready', { cert: supervisor.current.cert, key: supervisor.current.key }),
    ).toBe(200);
    expect(
      await rawGet(catalog, '/metrics', { cert: supervisor.current.cert, key: supervisor.current.key }),
    ).toBe(403);
  });

  it('refuses a connection without a client certificate, logging the check', async () => {
    const err = await rejection(rawGet(catalog, '/products'));
    expect(err.message).toMatch(/other side closed|socket|certificate/i);
    await until(() => logLines.some((l) => String(l.check).startsWith('client certificate required')));
  });

  it('does not count or log a caller that hangs up mid-handshake as a refusal (a timed-out try after a pause)', async () => {
    const url = new URL(catalog);
    const before = await metricValue('bw_authz_denied_total', {
      source: 'untrusted',
      destination: 'catalog',
    });
    const refusedBefore = logLines.filter((l) => l.msg === 'mTLS connection refused').length;
    // The first bytes of a ClientHello, then the caller leaves; the server sees the handshake cut.
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('error', () => {});
    await new Promise<void>((resolve) => {
      socket.on('connect', () => socket.end(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
      socket.on('close', () => resolve());
    });
    // A real refusal afterwards shows the server got past the cut connection.
    await rejection(rawGet(catalog, '/products'));
    await until(() => logLines.filter((l) => l.msg === 'mTLS connection refused').length > refusedBefore);
    expect(logLines.filter((l) => l.msg === 'mTLS connection refused').length).toBe(refusedBefore + 1);
    expect(await metricValue('bw_authz_denied_total', { source: 'untrusted', destination: 'catalog' })).toBe(
      before,
    );
  });

  it('refuses a certificate from another CA, naming the check', async () => {
    const leaf = await otherCa.issue(spiffeId('orders'), HOUR);
    await rejection(
      rawGet(catalog, '/products', { cert: Buffer.from(leaf.cert), key: Buffer.from(leaf.key) }),
    );
    await until(() =>
      logLines.some((l) => String(l.check).startsWith("client certificate not issued by this mesh's CA")),
    );
  });

  it('refuses an expired certificate, naming the check', async () => {
    const leaf = await ca.issue(spiffeId('orders'), 30_000, Date.now() - HOUR);
    await rejection(
      rawGet(catalog, '/products', { cert: Buffer.from(leaf.cert), key: Buffer.from(leaf.key) }),
    );
    await until(() => logLines.some((l) => String(l.check).startsWith('client certificate expired')));
  });

  it('refuses a server whose SPIFFE id is not the upstream meant (MESH_ERR_CONNECT naming the check)', async () => {
    const payments = await startService('payments');
    const up = createUpstream({
      name: 'catalog',
      baseUrl: payments.url, // the caller means catalog, the server is payments
      identity: await identityFor('orders'),
      policy: { retry: { maxRetries: 0 }, breaker: { enabled: false } },
    });
    const err = await rejection(up.request({ path: '/products' }));
    expect(err.code).toBe('MESH_ERR_CONNECT');
    expect(`${err.message} ${String((err.cause as Error | undefined)?.message)}`).toContain(
      `server identity check failed: expected ${spiffeId('catalog')}, the server presented ${spiffeId('payments')}`,
    );
    await up.close();
  });
});

describe('the plain health port beside an mTLS listener (kubelet probes, Prometheus without a mesh certificate)', () => {
  it('answers /health/* and /metrics over plain HTTP, nothing else; the main port still wants a certificate', async () => {
    const identity = await identityFor('payments');
    const kit = createServiceApp({
      service: 'payments',
      signals: [],
      drainDelayMs: 0,
      identity,
      health: { port: 0 },
      logger: createLogger({ service: 'payments', level: 'info', destination: logSink }),
      routes: (r) => {
        r.get('/payments/1', (_req, res) => {
          res.json({ ok: true });
        });
      },
    });
    servers.push(kit);
    const { port, healthPort } = await kit.listen({ port: 0 });
    expect(healthPort).toBeGreaterThan(0);
    const plain = `http://127.0.0.1:${healthPort}`;
    const get = async (p: string) => {
      const res = await request(`${plain}${p}`);
      const body = await res.body.text();
      return { status: res.statusCode, body };
    };
    expect(await get('/health/live')).toMatchObject({ status: 200 });
    expect(await get('/health/ready')).toMatchObject({ status: 200 });
    expect((await get('/metrics')).body).toContain('bw_');
    expect((await get('/payments/1')).status).toBe(404);
    await rejection(rawGet(`https://127.0.0.1:${port}`, '/payments/1'));
    await kit.shutdown();
    expect(await rejection(get('/health/live'))).toBeInstanceOf(Error);
  });
});

describe('a server that accepts connections but never completes the TLS handshake (a paused process)', () => {
  it('gives a streaming try up at its per-try timeout, not at the connect timeout', async () => {
    // The kernel completes the TCP handshake for a stopped process; the TLS
    // handshake then hangs. undici keeps such a request queued until its
    // connect timeout (here 3 s), so the try must be settled by the mesh.
    const sockets: import('node:net').Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as import('node:net').AddressInfo;
    const up = createUpstream({
      name: 'catalog',
      baseUrl: `https://127.0.0.1:${port}`,
      identity: await identityFor('gateway'),
      policy: {
        timeoutMs: 200,
        deadlineMs: 2_000,
        retry: { maxRetries: 0 },
        breaker: { enabled: false },
        pool: { connectTimeoutMs: 3_000 },
      },
    });
    try {
      const started = performance.now();
      const err = await rejection(up.stream({ path: '/products' }));
      const tookMs = performance.now() - started;
      expect(err.code).toBe('MESH_ERR_TIMEOUT');
      expect(tookMs).toBeLessThan(1_500);
    } finally {
      await up.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe('expiry on a connection that outlives a certificate', () => {
  it('a caller refuses a server whose certificate expired unrenewed, also after a keep-alive connection (fails closed)', async () => {
    const { url, identity } = await startService('catalog', 2_500);
    const up = createUpstream({
      name: 'catalog',
      baseUrl: url,
      identity: await identityFor('orders'),
      policy: { retry: { maxRetries: 0 }, breaker: { enabled: false } },
    });
    expect((await up.request({ path: '/products' })).status).toBe(200);
    await until(() => identity.current.notAfter <= Date.now(), 5_000, 50);
    // The keep-alive connection outlived the certificate (it was fresh at the first request, so
    // not asked to close): the server refuses to serve on it (503 MESH_ERR_IDENTITY) and closes
    // it; the caller's next handshake meets the expired certificate and fails.
    const onOpen = await rejection(up.request({ path: '/products' }));
    expect(onOpen.code).toBe('MESH_ERR_UPSTREAM_STATUS');
    expect(onOpen.message).toContain('upstream answered 503');
    expect(String((onOpen.extensions as { upstreamBody?: string } | undefined)?.upstreamBody)).toContain(
      'MESH_ERR_IDENTITY',
    );
    const err = await rejection(up.request({ path: '/products' }));
    expect(err.code).toBe('MESH_ERR_CONNECT');
    expect(err.message).toContain('CERT_HAS_EXPIRED');
    await up.close();
  });
});

describe('retiring connections before their certificates expire', () => {
  it('asks a connection to close once the caller’s certificate is three quarters through its lifetime', async () => {
    const { url } = await startService('catalog');
    const connectionHeader = async (leaf: { cert: string; key: string }) => {
      const agent = new Agent({ connect: { ca: ca.cert, ...leaf, checkServerIdentity: () => undefined } });
      try {
        const res = await request(`${url}/products`, { dispatcher: agent });
        await res.body.dump();
        return { status: res.statusCode, connection: res.headers.connection };
      } finally {
        await agent.close();
      }
    };
    const fresh = await ca.issue(spiffeId('orders'), HOUR);
    // Valid for 10 s more of a 75 s validity (issued 50 s ago for a minute, back-dated a quarter of that).
    const old = await ca.issue(spiffeId('orders'), 60_000, Date.now() - 50_000);
    expect(await connectionHeader(fresh)).toEqual({ status: 200, connection: 'keep-alive' });
    expect(await connectionHeader(old)).toEqual({ status: 200, connection: 'close' });
  });
});

describe('rotation', () => {
  it('takes new certificates on both sides without a restart; a request in flight finishes', async () => {
    const { url, identity: server } = await startService('catalog');
    const caller = await identityFor('gateway'); // its rules allow GET /products/*
    const up = createUpstream({ name: 'catalog', baseUrl: url, identity: caller });
    const serverSerial = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({
          host: '127.0.0.1',
          port: Number(new URL(url).port),
          ca: ca.cert,
          cert: caller.current.cert,
          key: caller.current.key,
          checkServerIdentity: () => undefined,
        });
        s.once('secureConnect', () => {
          resolve(s.getPeerCertificate().serialNumber);
          s.destroy();
        });
        s.once('error', reject);
      });
    const before = await serverSerial();
    const oldCallerCert = caller.current.cert;
    const inFlight = up.request({ path: '/products/slow' });
    // What the local CA does at half-life: rewrite both folders; the watchers pick them up.
    for (const [i, sa] of [
      [server, 'catalog'],
      [caller, 'gateway'],
    ] as const) {
      writeIdentityFiles(i.dir, { ...(await ca.issue(spiffeId(sa), HOUR)), ca: ca.cert });
    }
    await until(() => !caller.current.cert.equals(oldCallerCert), 3_000, 20);
    await until(() => logLines.some((l) => l.msg === 'certificate rotated'), 3_000, 20);
    expect((await inFlight).status).toBe(200);
    expect(await serverSerial()).not.toBe(before);
    // New connections present the new client certificate and are still allowed.
    await up.close();
    const fresh = createUpstream({ name: 'catalog', baseUrl: url, identity: caller });
    expect((await fresh.request({ path: '/products' })).status).toBe(200);
    await fresh.close();
  });
});
