import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitPrincipal, auth } from '../../src/pipeline/auth.ts';
import { forward, forwardFailed } from '../../src/pipeline/forward.ts';
import { clientIpOf } from '../../src/pipeline/limit.ts';
import { target } from '../../src/pipeline/target.ts';
import { startUpstream, type TestUpstream } from '../helpers.ts';
import { ask, type StageServer, stageServer, stateFor } from './stage-kit.ts';

describe('stage forward (real upstream)', () => {
  let s: StageServer;
  let svc: TestUpstream;
  beforeAll(async () => {
    svc = await startUpstream();
    const state = await stateFor(
      { proxy: { bodyLimitBytes: 1_000, maxHeaderCount: 100, maxHeaderBytes: 16_384, trustedHops: 0 } },
      { svc: svc.url },
    );
    s = await stageServer(state, async (ctx) => {
      target(ctx);
      admitPrincipal(ctx, (await auth(ctx)) ?? undefined);
      ctx.clientIp = clientIpOf(ctx, 0);
      try {
        const res = await forward(ctx);
        const text = await res.body.toArray().then((c) => Buffer.concat(c).toString());
        return { status: res.status, upstream: JSON.parse(text) };
      } catch (err) {
        throw forwardFailed(ctx, err);
      }
    });
  });
  afterAll(async () => {
    await s.close();
    await svc.close();
  });

  it('sends the stripped path and query with clean headers: no credentials, the consumer and forwarding fields set', async () => {
    const r = await ask(`${s.url}/api/svc/items?x=1`, {
      headers: { apikey: 'alice-test-key-0123456789', 'x-forwarded-for': '6.6.6.6', 'x-keep': 'yes' },
    });
    const { status, upstream } = r.body.result as {
      status: number;
      upstream: { url: string; headers: Record<string, string> };
    };
    expect(status).toBe(200);
    expect(upstream.url).toBe('/svc/items?x=1');
    expect(upstream.headers).toMatchObject({
      'x-consumer-username': 'alice',
      'x-forwarded-for': '127.0.0.1',
      'x-request-id': 'stage-test-request-id',
      'x-keep': 'yes',
    });
    expect(upstream.headers.apikey).toBeUndefined();
    expect(upstream.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('cuts a streamed body past the limit and answers it as the client’s 413', async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array(800));
        c.enqueue(new Uint8Array(800));
        c.close();
      },
    });
    const r = await ask(`${s.url}/api/svc/orders`, {
      method: 'POST',
      headers: { apikey: 'alice-test-key-0123456789' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(r.body.error).toMatchObject({ code: 'GW_ERR_BODY_TOO_LARGE', status: 413 });
  });
});
