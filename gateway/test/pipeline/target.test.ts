import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methodsAt, target } from '../../src/pipeline/target.ts';
import { ask, type StageServer, stageServer, stateFor } from './stage-kit.ts';

describe('stage target', () => {
  let s: StageServer;
  beforeAll(async () => {
    const state = await stateFor({
      proxy: { maxHeaderCount: 10, bodyLimitBytes: 100, maxHeaderBytes: 16_384, trustedHops: 0 },
      routes: [
        {
          name: 'orders',
          path: '/api/orders',
          methods: ['GET', 'HEAD', 'POST'],
          methodsAt: { exact: ['POST'], below: ['GET', 'HEAD'] },
          upstream: 'svc',
        },
        { name: 'api', path: '/api', methods: ['GET'], upstream: 'svc' },
      ],
    });
    s = await stageServer(state, (ctx) => {
      target(ctx);
      return { route: ctx.routeName, internal: ctx.internal ?? null, path: ctx.path, search: ctx.search };
    });
  });
  afterAll(() => s.close());

  it('picks the longest prefix on whole segments and splits path from query', async () => {
    expect((await ask(`${s.url}/api/orders/7?x=1`)).body.result).toEqual({
      route: 'orders',
      internal: null,
      path: '/api/orders/7',
      search: '?x=1',
    });
    expect((await ask(`${s.url}/api/ordersX`)).body.result).toMatchObject({ route: 'api' });
  });

  it('flags the gateway’s own endpoints instead of routing them', async () => {
    expect((await ask(`${s.url}/health/ready`)).body.result).toMatchObject({
      internal: 'ready',
      route: 'health',
    });
    expect((await ask(`${s.url}/metrics`)).body.result).toMatchObject({ internal: 'metrics' });
  });

  it('refuses an unrouted path with 404 and a method the path does not take with 405 and its Allow', async () => {
    expect((await ask(`${s.url}/nope`)).body.error).toMatchObject({ code: 'GW_ERR_NO_ROUTE', status: 404 });
    // The collection takes POST only; an item GET and HEAD only: each answers with its own Allow.
    expect((await ask(`${s.url}/api/orders/7`, { method: 'POST' })).body.error).toEqual({
      code: 'GW_ERR_METHOD_NOT_ALLOWED',
      status: 405,
      headers: { allow: 'GET, HEAD' },
    });
    expect((await ask(`${s.url}/api/orders`, { method: 'GET' })).body.error?.headers).toEqual({
      allow: 'POST',
    });
    expect((await ask(`${s.url}/api/orders`, { method: 'DELETE' })).body.error?.status).toBe(405);
    expect((await ask(`${s.url}/api/orders`, { method: 'POST', body: 'x' })).body.result).toMatchObject({
      route: 'orders',
    });
  });

  it('refuses a declared body over the limit (413) and a header flood (431)', async () => {
    const big = await ask(`${s.url}/api/orders`, { method: 'POST', body: 'x'.repeat(101) });
    expect(big.body.error).toMatchObject({ code: 'GW_ERR_BODY_TOO_LARGE', status: 413 });
    const headers: Record<string, string> = {};
    for (let i = 0; i < 12; i++) headers[`x-h${i}`] = 'v';
    expect((await ask(`${s.url}/api`, { headers })).body.error?.code).toBe('GW_ERR_HEADERS_TOO_LARGE');
  });
});

describe('methodsAt', () => {
  const route = {
    path: '/api/orders',
    methods: ['GET', 'POST'],
    methodsAt: { exact: ['POST'] },
  } as unknown as Parameters<typeof methodsAt>[0];
  it('narrows by position and falls back to the route’s methods where a position is not given', () => {
    expect(methodsAt(route, '/api/orders')).toEqual(['POST']);
    expect(methodsAt(route, '/api/orders/1')).toEqual(['GET', 'POST']);
  });
});
