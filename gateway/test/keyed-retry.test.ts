/**
 * A keyed write survives an instance dying under it: with two endpoints of
 * `svc` (an endpoints file, as local discovery writes it), one of which
 * drops every POST's connection without answering, a POST with an
 * Idempotency-Key is buffered by the gateway and retried on the other
 * endpoint (previous_hosts) with the same body; a POST without a key is
 * streamed and tried once, so the dead endpoint's failure reaches the client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sharedRedisUrl } from '@breakwater/local/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/app.ts';
import {
  pollUntil,
  startTestGateway,
  startUpstream,
  type TestUpstream,
  testConfig,
  writeConfig,
} from './helpers.ts';

const ALICE = { apikey: 'alice-test-key-0123456789' };

let dir: string;
let dead: TestUpstream;
let live: TestUpstream;
let gw: RunningGateway;
const bodies: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bw-gw-keyed-'));
  dead = await startUpstream((req) => {
    req.resume();
    req.on('end', () => req.socket.destroy()); // an instance killed mid-request
  });
  live = await startUpstream((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(201, { 'content-type': 'application/json' }).end(body);
    });
  });
  const endpoints = path.join(dir, 'svc.json');
  writeFileSync(
    endpoints,
    JSON.stringify({ endpoints: [dead.url, live.url].map((url) => ({ url, ready: true })) }),
  );
  const base = testConfig();
  const upstreams = base.upstreams as Record<string, Record<string, unknown>>;
  gw = await startTestGateway({
    configFile: writeConfig(
      testConfig({
        redis: { keyPrefix: `bw:gw:keyed-retry:${process.pid}:`, commandTimeoutMs: 2_000 },
        upstreams: {
          ...upstreams,
          // Retries on; outlier detection off, so the dead endpoint keeps being picked; the
          // breaker out of the way (its failed tries would open it: a fast 503, not this test).
          svc: {
            ...upstreams.svc,
            retry: { maxRetries: 1 },
            outlierDetection: { enabled: false },
            breaker: { ...(upstreams.svc?.breaker as object), volumeThreshold: 1_000 },
          },
        },
      }),
      dir,
    ),
    redisUrl: sharedRedisUrl(),
    upstreams: { svc: dead.url, other: live.url },
    endpointsFiles: { svc: endpoints },
  });
  // The file is read asynchronously: until then the gateway knows only the static URL.
  await pollUntil(
    async () => {
      const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      return /bw_upstream_endpoints_healthy\{upstream="svc"[^}]*\} 2/.test(text);
    },
    5_000,
    'both endpoints of svc in the gateway',
  );
});

afterAll(async () => {
  await gw?.close();
  await dead?.close();
  await live?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (body: string, key?: string) =>
  fetch(`${gw.url}/api/svc/orders`, {
    method: 'POST',
    headers: { ...ALICE, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body,
  });

describe('a keyed POST on an endpoint that dies', () => {
  it('is retried on the other endpoint with the same body', async () => {
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify({ order: i });
      const res = await post(body, `key-${i}`);
      expect(res.status, `order ${i}`).toBe(201);
      expect(await res.text()).toBe(body);
    }
    // Both endpoints were picked: some first tries died on `dead` and were sent again.
    expect(dead.seen.length).toBeGreaterThan(0);
    expect(bodies).toHaveLength(12);
  });

  it('without a key it is tried once, and the dead endpoint’s failure reaches the client', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(JSON.stringify({ unkeyed: i }));
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.filter((s) => s >= 500).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 201 || s >= 500)).toBe(true);
  });

  it('a client that goes away while its keyed body is buffered ends the request', async () => {
    const inFlight = async () => {
      const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      return Number(/^bw_http_server_in_flight_requests(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
    };
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/svc/orders HTTP/1.1\r\nHost: x\r\napikey: ${ALICE.apikey}\r\nidempotency-key: half\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"half":`,
    );
    await pollUntil(async () => (await inFlight()) === 1, 5_000, 'the half-sent request in flight');
    socket.destroy();
    await pollUntil(async () => (await inFlight()) === 0, 5_000, 'the abandoned request finished');
  });
});
