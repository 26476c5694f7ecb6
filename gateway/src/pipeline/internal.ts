/** The gateway's own endpoints on the public port: liveness, readiness (false while starting or draining) and metrics. */
import type { RequestContext } from './context.ts';

export interface InternalDeps {
  ready: () => boolean;
  metrics: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
  redisStatus: () => string;
}

export function answerInternal(ctx: RequestContext, deps: InternalDeps): Promise<void> | undefined {
  const { res, requestId } = ctx;
  if (ctx.internal === 'metrics') {
    return deps.metrics(ctx.req.headers.accept).then((m) => {
      res.writeHead(200, { 'content-type': m.contentType, 'x-request-id': requestId });
      res.end(m.body);
    });
  }
  const ok = ctx.internal === 'live' || deps.ready();
  const body = JSON.stringify({ status: ok ? 'ok' : 'unavailable', redis: deps.redisStatus() });
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'x-request-id': requestId });
  res.end(body);
  return undefined;
}
