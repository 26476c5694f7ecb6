/**
 * The gateway's request pipeline: an ordered list of named stages, each its
 * own function in its own file under pipeline/ with its own test:
 *
 *   target ─▶ auth ─▶ limit ─▶ forward ─▶ stale ─▶ answer
 *
 * target (what is asked: form, route, method, size), auth (who asks), limit
 * (the rate-limit decision), forward (the mesh upstream, streaming), stale
 * (the last good answer when the forward failed: stale-if-error), answer (the
 * upstream's answer streamed back). Any stage refuses by throwing a
 * GatewayError, answered as problem+json (pipeline/refuse.ts). Every answer
 * carries `x-request-id`; nothing reaches an upstream before every check
 * passed. The state (routes, auth, upstream clients, stale caches) is swapped
 * whole on reload, so a request sees one config.
 *
 * Hot-path rules, measured: a stage that may wait returns the promise of the
 * thing it waits on (the limiter's, the mesh client's) rather than being an
 * async function, so the runner's awaits are the only promises per request;
 * per-request state lives in one RequestContext (no tuples, no closures for
 * the end of the request).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeshStreamResponse } from '@breakwater/mesh/client';
import {
  extractTraceContext,
  gauge,
  getTracer,
  type Logger,
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  statusClass,
  trace,
} from '@breakwater/observability';
import { requestIdOf } from './forwarding.ts';
import type { GatewayState } from './gateway-state.ts';
import { answer } from './pipeline/answer.ts';
import { admitPrincipal, auth } from './pipeline/auth.ts';
import { RequestContext } from './pipeline/context.ts';
import { forward, forwardFailed } from './pipeline/forward.ts';
import { answerInternal } from './pipeline/internal.ts';
import { admit, limit } from './pipeline/limit.ts';
import { createRecorder } from './pipeline/record.ts';
import { errorOf, PROBLEM_JSON, refuse } from './pipeline/refuse.ts';
import { findStale, keeperOf, reasonOf, serveStale, staleOnStatus } from './pipeline/stale.ts';
import { target } from './pipeline/target.ts';
import type { RateLimiter } from './rate-limit.ts';

export { buildState, type GatewayState } from './gateway-state.ts';

/** The stages in the order they run (names as in metrics, logs and docs). */
export const STAGES = ['target', 'auth', 'limit', 'forward', 'stale', 'answer'] as const;

export interface HandlerDeps {
  state: () => GatewayState;
  limiter: RateLimiter;
  log: Logger;
  /** Answers /health/ready; false while starting or draining. */
  ready: () => boolean;
  metrics: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
  redisStatus: () => string;
  /** Named in the Via field of every answer (gateway-1, gateway-2). */
  instance: string;
}

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const inFlight = gauge('httpServerInFlight');
  const via = `1.1 ${deps.instance}`;
  const recorder = createRecorder();

  /** forward's failure: the kept answer when there is one (stale), else thrown on to be refused. */
  function forwardFailedOrStale(ctx: RequestContext, err: unknown): void {
    if (ctx.upstream !== undefined) recorder.upstream(ctx, 'error');
    const failure = forwardFailed(ctx, err);
    const reason = reasonOf(failure);
    const kept = reason === undefined ? undefined : findStale(ctx);
    if (reason === undefined || kept === undefined) throw failure;
    serveStale(ctx, kept, reason, undefined, via);
  }

  /** Runs the stages in order; resolves once the answer is sent (or the connection cut). */
  async function run(ctx: RequestContext): Promise<RequestContext> {
    try {
      target(ctx);
      if (ctx.internal !== undefined) {
        const pending = answerInternal(ctx, deps);
        if (pending !== undefined) await pending;
        return ctx;
      }
      const principal = auth(ctx);
      admitPrincipal(ctx, principal instanceof Promise ? await principal : principal);
      const decision = limit(ctx, deps.limiter);
      if (decision !== undefined) admit(ctx, await decision);
      let upstreamRes: MeshStreamResponse;
      try {
        upstreamRes = await forward(ctx);
      } catch (err) {
        forwardFailedOrStale(ctx, err);
        return ctx;
      }
      const { status } = upstreamRes;
      recorder.upstream(ctx, statusClass(status));
      const kept = status >= 500 && staleOnStatus(status) ? findStale(ctx) : undefined;
      if (kept !== undefined) {
        upstreamRes.discard(); // drained, so the connection goes back to the pool
        serveStale(ctx, kept, 'upstream-status', status, via);
        return ctx;
      }
      await answer(ctx, upstreamRes, via, keeperOf(ctx, status));
    } catch (e) {
      refuse(ctx, errorOf(ctx, e, deps.log), via);
    }
    return ctx;
  }

  /** Metrics and the span, once the answer is out; one function for every request (no closure each). */
  function finish(ctx: RequestContext): void {
    inFlight.dec();
    const status = ctx.res.statusCode;
    recorder.request(ctx, status);
    const span = ctx.span;
    if (span === undefined) return;
    if (span.isRecording()) {
      span.updateName(`${ctx.method} ${ctx.routeName}`);
      span.setAttribute('http.route', ctx.routeName);
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  const tracer = getTracer('@breakwater/gateway');
  const untraced = (url: string | undefined) =>
    url === '/metrics' || url === '/health/live' || url === '/health/ready';

  return (req, res) => {
    const start = performance.now();
    inFlight.inc();
    const ctx = new RequestContext(req, res, requestIdOf(req.headers['x-request-id']), start, deps.state());
    if (untraced(req.url)) {
      void run(ctx).then(finish);
      return;
    }
    // One SERVER span per request, continuing the client's trace; the whole
    // pipeline runs in its context, so log lines get trace_id/span_id from the
    // logger's mixin and the mesh client's span is its child.
    const parent = extractTraceContext(req.headers);
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER }, parent);
    ctx.span = span;
    ctx.traced = span.isRecording();
    void otelContext.with(trace.setSpan(parent, span), run, undefined, ctx).then(finish);
  };
}

/** Problem+json for what Node's parser refuses before our handler runs (oversized heads, garbage). */
export function clientErrorResponse(code: string | undefined): string {
  const [status, title] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request header fields too large']
      : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? [413, 'Request body too large']
        : [400, 'Bad request'];
  const body = JSON.stringify({
    type: `https://breakwater.dev/problems/${status === 431 ? 'gw-err-headers-too-large' : 'gw-err-bad-request'}`,
    title,
    status,
    code: status === 431 ? 'GW_ERR_HEADERS_TOO_LARGE' : 'GW_ERR_BAD_REQUEST',
  });
  return `HTTP/1.1 ${status} ${title}\r\ncontent-type: ${PROBLEM_JSON}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
