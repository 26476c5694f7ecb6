/**
 * Stage 4, forward: the request goes to the route's upstream through the mesh
 * client in streaming mode (per-try timeout, deadline, retries with budget,
 * breaker, bulkhead), with clean headers (forwarding.ts) and the body
 * streamed through a size check — except a small body with an
 * Idempotency-Key, which is buffered so the mesh may retry it on another
 * endpoint when its try's connection dies (an instance killed mid-request):
 * Envoy buffers a body for retries the same way, up to its per-request
 * buffer limit, and the key makes the second try safe. Returns the mesh client's own promise (no
 * wrapper per request); `forwardFailed` turns its rejection into what the
 * next stages see.
 */
import type { MeshStreamResponse, Upstream } from '@breakwater/mesh/client';
import { GatewayError } from '../errors.ts';
import { nextTraceparent, upstreamRequestHeaders } from '../forwarding.ts';
import { upstreamPath } from '../request-target.ts';
import { BodyLimit, tooLarge } from './body-limit.ts';
import type { RequestContext } from './context.ts';

/** The client went away: stop the upstream call (the deadline and the breaker end the same signal). */
function onClientClose(this: RequestContext): void {
  if (!this.res.writableFinished) this.abort?.abort();
}

/** Largest body buffered for a retry (a keyed order is well under 1 KiB); bigger ones stream, tried once. */
export const RETRY_BUFFER_BYTES = 64 * 1024;

function buffered(stream: BodyLimit, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    // A client gone mid-body never ends the stream (pipe does not pass the request's close
    // on): the request must still end, as a streamed one does when the mesh sees the signal.
    const gone = () => reject(new GatewayError('GW_ERR_BAD_REQUEST', 'Client went away'));
    signal.addEventListener('abort', gone, { once: true });
  });
}

export function forward(ctx: RequestContext): Promise<MeshStreamResponse> {
  const route = ctx.route as NonNullable<RequestContext['route']>;
  const { config } = ctx.state;
  const { req } = ctx;
  const upstream = ctx.state.upstreams.get(route.upstream);
  if (!upstream) throw new GatewayError('GW_ERR_BAD_GATEWAY', 'No client for this upstream');
  ctx.upstream = upstream;
  ctx.upstreamHeaders = upstreamRequestHeaders(req.headers, {
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
  ctx.abort = new AbortController();
  ctx.res.once('close', onClientClose.bind(ctx));
  if (ctx.hasBody) {
    ctx.bodyLimit = new BodyLimit(config.proxy.bodyLimitBytes);
    req.pipe(ctx.bodyLimit);
  }
  const key = req.headers['idempotency-key'];
  // No content-length (a chunked body): Number(undefined) is NaN, never <=, so it streams.
  if (
    ctx.bodyLimit !== undefined &&
    typeof key === 'string' &&
    Number(req.headers['content-length']) <= RETRY_BUFFER_BYTES
  )
    return buffered(ctx.bodyLimit, ctx.abort.signal).then((body) => send(ctx, body, key));
  return send(ctx, ctx.bodyLimit);
}

/** The mesh call, from what forward put on the context (a module function: no closure per request). */
function send(ctx: RequestContext, body: BodyLimit | Buffer | undefined, idempotencyKey?: string) {
  const route = ctx.route as NonNullable<RequestContext['route']>;
  ctx.upstreamStart = performance.now();
  // Runs in the request's SERVER span context (set by the runner), so the mesh's
  // CLIENT span is its child and the traceparent sent upstream continues it.
  return (ctx.upstream as Upstream).stream({
    method: ctx.method,
    path: upstreamPath(route, ctx.path) + ctx.search,
    route: route.name,
    headers: ctx.upstreamHeaders as Record<string, string>,
    body,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    signal: (ctx.abort as AbortController).signal,
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
