import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayState } from '../../src/gateway-state.ts';
import { answer } from '../../src/pipeline/answer.ts';
import { admitPrincipal, auth } from '../../src/pipeline/auth.ts';
import { forward } from '../../src/pipeline/forward.ts';
import { keeperOf } from '../../src/pipeline/stale.ts';
import { target } from '../../src/pipeline/target.ts';
import { startUpstream, type TestUpstream } from '../helpers.ts';
import { type StageServer, stageServer, stateFor } from './stage-kit.ts';

describe('stage answer (real upstream)', () => {
  let s: StageServer;
  let svc: TestUpstream;
  let state: GatewayState;
  beforeAll(async () => {
    svc = await startUpstream((req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'cache-control': 'max-age=5',
        'keep-alive': 'timeout=77',
        via: '1.1 svc',
      });
      res.end(`hello ${req.url}`);
    });
    state = await stateFor(
      {
        routes: [
          { name: 'api', path: '/api', methods: ['GET'], upstream: 'svc', auth: 'none', staleIfError: {} },
        ],
      },
      { svc: svc.url },
    );
    s = await stageServer(state, async (ctx) => {
      target(ctx);
      admitPrincipal(ctx, (await auth(ctx)) ?? undefined);
      ctx.rateLimitHeaders = { ratelimit: '"per-second";r=9;t=1' };
      const res = await forward(ctx);
      await answer(ctx, res, '1.1 gw-test', keeperOf(ctx, res.status));
    });
  });
  afterAll(async () => {
    await s.close();
    await svc.close();
  });

  it('streams the upstream’s answer with the request id, the rate-limit fields and Via, hop-by-hop fields removed', async () => {
    const r = await fetch(`${s.url}/api/a`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('hello /api/a');
    expect(r.headers.get('x-request-id')).toBe('stage-test-request-id');
    expect(r.headers.get('ratelimit')).toBe('"per-second";r=9;t=1');
    expect(r.headers.get('via')).toBe('1.1 svc, 1.1 gw-test');
    expect(r.headers.get('keep-alive')).not.toBe('timeout=77');
  });

  it('keeps a copy for stale-if-error on the way through, at most once a second per target', async () => {
    const cache = state.stale.get('api');
    expect(cache?.size).toBe(1); // /api/a from the test above
    await (await fetch(`${s.url}/api/b?q=1`)).text();
    await new Promise<void>((r) => setImmediate(r));
    const kept = cache?.find('/api/b?q=1', {}, Date.now());
    expect(kept?.body.toString()).toBe('hello /api/b?q=1');
    expect(kept?.headers['x-request-id']).toBeUndefined();
    expect(kept?.freshS).toBe(5);
    expect(cache?.wants('/api/b?q=1', Date.now())).toBe(false);
    expect(cache?.wants('/api/b?q=1', Date.now() + 1_000)).toBe(true);
  });
});
