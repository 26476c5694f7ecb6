/**
 * Issue 13 item 7 through a real gateway: a method the path does not take is
 * the gateway's 405 problem+json with that path's Allow — never forwarded, so
 * never the upstream's 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/app.ts';
import { type Backends, startBackends, startTestGateway, testConfig, writeConfig } from './helpers.ts';

let backends: Backends;
let gw: RunningGateway;
const ALICE = { apikey: 'alice-test-key-0123456789' };

beforeAll(async () => {
  backends = await startBackends();
  const config = testConfig({
    routes: [
      {
        name: 'orders',
        path: '/api/orders',
        stripPrefix: '/api',
        methods: ['GET', 'HEAD', 'POST'],
        methodsAt: { exact: ['POST'], below: ['GET', 'HEAD'] },
        upstream: 'svc',
      },
    ],
  });
  gw = await startTestGateway({
    configFile: writeConfig(config),
    redisUrl: backends.redis.url,
    upstreams: backends.upstreams,
  });
});

afterAll(async () => {
  await gw?.close();
  await backends?.stop();
});

describe('405 by position', () => {
  it('answers a method the path does not take with 405, its Allow and problem+json, without forwarding', async () => {
    const before = backends.svc.seen.length;
    for (const [method, path, allow] of [
      ['POST', '/api/orders/7', 'GET, HEAD'],
      ['DELETE', '/api/orders/7', 'GET, HEAD'],
      ['GET', '/api/orders', 'POST'],
    ] as const) {
      const r = await fetch(`${gw.url}${path}`, { method, headers: ALICE });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow')).toBe(allow);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(((await r.json()) as { code: string }).code).toBe('GW_ERR_METHOD_NOT_ALLOWED');
    }
    expect(backends.svc.seen.length).toBe(before);
    // What the position takes is forwarded.
    expect((await fetch(`${gw.url}/api/orders/7`, { headers: ALICE })).status).toBe(200);
    expect((await fetch(`${gw.url}/api/orders`, { method: 'POST', headers: ALICE, body: '{}' })).status).toBe(
      200,
    );
  });
});
