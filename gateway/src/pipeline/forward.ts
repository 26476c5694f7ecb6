/**
 * Stage 4, forward: the request goes to the route's upstream through the mesh
 * client in streaming mode (per-try timeout, deadline, retries with budget,
 * breaker, bulkhead), with clean headers (forwarding.ts) and the body
 * streamed through a size check. Returns the mesh client's own promise (no
 * wrapper per request); `forwardFailed` turns its rejection into what the
 * next stages see.
 */
import type { MeshStreamResponse } from '@breakwater/mesh/client';
import { GatewayError } from '../errors.ts';
import { nextTraceparent, upstreamRequestHeaders } from '../forwarding.ts';
import { upstreamPath } from '../request-target.ts';
import { BodyLimit, tooLarge } from './body-limit.ts';
import type { RequestContext } from './context.ts';

/** The client went away: stop the upstream call (the deadline and the breaker end the same signal). */
function onClientClose(this: RequestContext): void {
  if (!this.res.writableFinished) this.abort?.abort();
}

export function forward(ctx: RequestContext): Promise<MeshStreamResponse> {
  const route = ctx.route as NonNullable<RequestContext['route']>;
  const { config } = ctx.state;
  const { req } = ctx;
  const upstream = ctx.state.upstreams.get(route.upstream);
  if (!upstream) throw new GatewayError('GW_ERR_BAD_GATEWAY', 'No client for this upstream');
  ctx.upstream = upstream;
  const headers = upstreamRequestHeaders(req.headers, {
    clientIp: ctx.clientIp,
    trustedHops: config.proxy.trustedHops,
    proto: 'http',
    host: req.headers.host,
    requestId: ctx.requestId,
    // Without a tracing SDK the gateway continues the client's trace itself; with one,
    // the mesh client injects traceparent/tracestate from its span, a child of ours.
    traceparent: ctx.traced ? undefined : nextTraceparent(req.headers.traceparent),
    tracestate:
      !ctx.traced && typeof req.headers.tracestate === 'string' ? req.headers.tracestate : undefined,
    consumer: ctx.principal?.consumer,
    prefix: route.stripPrefix,
  });
  ctx.upstreamHeaders = headers;
  ctx.abort = new AbortController();
  ctx.res.once('close', onClientClose.bind(ctx));
  if (ctx.hasBody) {
    ctx.bodyLimit = new BodyLimit(config.proxy.bodyLimitBytes);
    req.pipe(ctx.bodyLimit);
  }
  ctx.upstreamStart = performance.now();
  // Runs in the request's SERVER span context (set by the runner), so the mesh's
  // CLIENT span is its child and the traceparent sent upstream continues it.
  return upstream.stream({
    method: ctx.method,
    path: upstreamPath(route, ctx.path) + ctx.search,
    route: route.name,
    headers,
    body: ctx.bodyLimit,
    signal: ctx.abort.signal,
    ...(route.timeoutMs === undefined ? {} : { timeoutMs: route.timeoutMs }),
    ...(route.deadlineMs === undefined ? {} : { deadlineMs: route.deadlineMs }),
    // Frozen by config validation, so the mesh uses it as is (no validation per call).
    ...(route.retry === undefined ? {} : { retry: route.retry }),
  });
}

/** What a failed upstream call means for the client: a body over the limit is the client's 413. */
export function forwardFailed(ctx: RequestContext, err: unknown): unknown {
  if (ctx.bodyLimit?.exceeded) return tooLarge(ctx.bodyLimit.limit);
  return err;
}
