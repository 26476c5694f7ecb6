import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/dev-tokens.ts';
import type { GatewayState } from '../../src/gateway-state.ts';
import { admitPrincipal, auth } from '../../src/pipeline/auth.ts';
import { target } from '../../src/pipeline/target.ts';
import { GATEWAY_DIR } from '../helpers.ts';
import { ask, type StageServer, stageServer, stateFor } from './stage-kit.ts';

describe('stage auth', () => {
  let s: StageServer;
  let state: GatewayState;
  beforeAll(async () => {
    state = await stateFor();
    s = await stageServer(state, (ctx) => {
      target(ctx);
      const p = auth(ctx);
      const sync = !(p instanceof Promise);
      return Promise.resolve(p).then((principal) => {
        admitPrincipal(ctx, principal);
        return { sync, consumer: ctx.consumer };
      });
    });
  });
  afterAll(() => s.close());

  it('answers an API key synchronously (no await on the common path) and a JWT with a promise', async () => {
    const key = await ask(`${s.url}/api/svc/x`, { headers: { apikey: 'alice-test-key-0123456789' } });
    expect(key.body.result).toEqual({ sync: true, consumer: 'alice' });
    const token = await mintDevToken(state.config, GATEWAY_DIR, 'bob');
    const jwt = await ask(`${s.url}/api/svc/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(jwt.body.result).toEqual({ sync: false, consumer: 'bob' });
  });

  it('lets anonymous routes through and refuses missing or wrong credentials (401) and other consumers (403)', async () => {
    expect((await ask(`${s.url}/page`)).body.result).toEqual({ sync: true, consumer: 'anonymous' });
    const none = await ask(`${s.url}/api/svc/x`);
    expect(none.body.error).toMatchObject({ code: 'GW_ERR_UNAUTHENTICATED', status: 401 });
    expect(none.body.error?.headers['www-authenticate']).toBeDefined();
    const wrong = await ask(`${s.url}/api/svc/x`, { headers: { apikey: 'not-a-key-0123456789' } });
    expect(wrong.body.error?.status).toBe(401);
    const other = await ask(`${s.url}/api/private/x`, { headers: { apikey: 'alice-test-key-0123456789' } });
    expect(other.body.error).toMatchObject({ code: 'GW_ERR_FORBIDDEN', status: 403 });
  });
});
