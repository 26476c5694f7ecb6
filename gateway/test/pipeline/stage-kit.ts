/**
 * Runs one pipeline stage on real requests: a loopback server builds a
 * RequestContext from each request it receives, hands it to the test's stage
 * call and answers with what the stage left behind (or the GatewayError it
 * threw), so a stage is tested on the same IncomingMessage it sees in the
 * gateway, without the other stages.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUpstream } from '@breakwater/mesh/client';
import { Authenticator } from '../../src/auth.ts';
import { type GatewayConfig, validateConfig } from '../../src/config.ts';
import { isGatewayError } from '../../src/errors.ts';
import { buildState, type GatewayState } from '../../src/gateway-state.ts';
import { RequestContext } from '../../src/pipeline/context.ts';
import { testConfig } from '../helpers.ts';

export async function stateFor(
  overrides: Record<string, unknown> = {},
  upstreamUrls: Record<string, string> = {},
): Promise<GatewayState> {
  const config: GatewayConfig = validateConfig(testConfig(overrides));
  const upstreams = new Map(
    Object.entries(config.upstreams).map(([name, policy]) => [
      name,
      createUpstream({ name, baseUrl: upstreamUrls[name] ?? 'http://127.0.0.1:9', policy }),
    ]),
  );
  return buildState(config, await Authenticator.create(config, process.cwd()), upstreams);
}

export interface StageServer {
  url: string;
  close(): Promise<void>;
}

export interface StageAnswer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; status: number; headers: Record<string, string> }; result?: unknown };
}

/**
 * `stage(ctx)` may return a value or a promise; its result (or thrown
 * GatewayError) is answered as JSON unless the stage answered itself
 * (`ctx.res.headersSent`).
 */
export async function stageServer(
  state: GatewayState,
  stage: (ctx: RequestContext) => unknown,
): Promise<StageServer> {
  const server: Server = createServer((req, res) => {
    const ctx = new RequestContext(req, res, 'stage-test-request-id', performance.now(), state);
    const reply = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    Promise.resolve()
      .then(() => stage(ctx))
      .then(
        (result) => reply(200, { result }),
        (err: unknown) => {
          if (!isGatewayError(err))
            return reply(500, { error: { code: String(err), status: 500, headers: {} } });
          reply(200, { error: { code: err.code, status: err.status, headers: err.headers } });
        },
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export async function ask(url: string, init?: RequestInit): Promise<StageAnswer> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : {} };
}
