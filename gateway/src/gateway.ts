/**
 * The gateway's request pipeline, in order:
 *
 *   target checks ─▶ route ─▶ method ─▶ body size ─▶ auth ─▶ rate limit ─▶ mesh upstream (stream)
 *
 * Every answer carries `x-request-id`; every refusal is problem+json; nothing
 * reaches an upstream before every check passed. The state (routes, auth,
 * upstream clients) is swapped whole on reload, so a request sees one config.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { Upstream } from '@breakwater/mesh/client';
import { isMeshError, type MeshError } from '@breakwater/mesh/errors';
import {
  counter,
  extractTraceContext,
  gauge,
  getTracer,
  histogram,
  type Logger,
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  statusClass,
  trace,
} from '@breakwater/observability';
import type { Authenticator } from './auth.ts';
import type { GatewayConfig, RouteConfig } from './config.ts';
import { GatewayError, isGatewayError, problemOf } from './errors.ts';
import { clientResponseHeaders, nextTraceparent, requestIdOf, upstreamRequestHeaders } from './forwarding.ts';
import type { RateLimiter } from './rate-limit.ts';
import { rateLimitHeaders } from './rate-limit-headers.ts';
import { matchRoute, orderRoutes, parseTarget, upstreamPath } from './request-target.ts';

export interface GatewayState {
  readonly config: GatewayConfig;
  readonly routes: readonly RouteConfig[];
  readonly auth: Authenticator;
  readonly upstreams: ReadonlyMap<string, Upstream>;
}

export function buildState(
  config: GatewayConfig,
  auth: Authenticator,
  upstreams: ReadonlyMap<string, Upstream>,
): GatewayState {
  return Object.freeze({ config, routes: orderRoutes(config.routes), auth, upstreams });
}

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

/** Status an upstream failure answers with, by mesh error code. */
function gatewayErrorOf(err: MeshError): GatewayError {
  const retryAfter = err.retryAfterSec === undefined ? undefined : String(err.retryAfterSec);
  const headers: Record<string, string> = retryAfter ? { 'retry-after': retryAfter } : {};
  switch (err.code) {
    case 'MESH_ERR_BREAKER_OPEN':
      return new GatewayError(
        'GW_ERR_UPSTREAM_UNAVAILABLE',
        'The upstream is failing; its circuit breaker is open',
        {
          cause: err,
          headers: { 'retry-after': retryAfter ?? '1' },
        },
      );
    case 'MESH_ERR_BULKHEAD_FULL':
    case 'MESH_ERR_BUDGET_EXHAUSTED':
    case 'MESH_ERR_CLOSED':
      return new GatewayError('GW_ERR_UPSTREAM_UNAVAILABLE', 'The upstream is overloaded', {
        cause: err,
        headers: { 'retry-after': retryAfter ?? '1' },
      });
    case 'MESH_ERR_TIMEOUT':
    case 'MESH_ERR_DEADLINE':
      return new GatewayError('GW_ERR_UPSTREAM_TIMEOUT', 'The upstream did not answer in time', {
        cause: err,
      });
    default:
      return new GatewayError('GW_ERR_BAD_GATEWAY', 'The upstream could not be reached', {
        cause: err,
        headers,
      });
  }
}

/** Counts request body bytes and fails the stream once the limit is passed. */
class BodyLimit extends Transform {
  readonly limit: number;
  seen = 0;
  exceeded = false;
  constructor(limit: number) {
    super();
    this.limit = limit;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.exceeded = true;
      cb(new GatewayError('GW_ERR_BODY_TOO_LARGE', `Request bodies are limited to ${this.limit} bytes`));
      return;
    }
    cb(null, chunk);
  }
}

const PROBLEM_JSON = 'application/problem+json';

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const requests = counter('gatewayRequests');
  const serverDuration = histogram('httpServerDuration');
  const upstreamDuration = histogram('gatewayUpstreamDuration');
  const inFlight = gauge('httpServerInFlight');
  const via = `1.1 ${deps.instance}`;

  function sendProblem(
    req: IncomingMessage,
    res: ServerResponse,
    err: GatewayError,
    requestId: string,
    extra: Record<string, string> = {},
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(problemOf(err, requestId, req.url?.split('?')[0]));
    // A request body we did not read would be parsed as the next request: close instead.
    const unread =
      !req.complete &&
      (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');
    res.writeHead(err.status, {
      ...extra,
      via,
      ...(unread ? { connection: 'close' } : {}),
      ...err.headers,
      'content-type': PROBLEM_JSON,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    /** A recording SERVER span is active: the mesh client injects trace context from it. */
    traced = false,
  ): Promise<[string, string]> {
    const state = deps.state();
    const { config } = state;
    let routeName = 'none';
    let consumer = 'anonymous';
    let rlHeaders: Record<string, string> = {};
    try {
      // Header floods: Node caps the bytes (431 before we run); we cap the count.
      if (req.rawHeaders.length / 2 > config.proxy.maxHeaderCount)
        throw new GatewayError(
          'GW_ERR_HEADERS_TOO_LARGE',
          `At most ${config.proxy.maxHeaderCount} header fields`,
        );
      const target = parseTarget(req.url);

      if (target.path === '/health/live' || target.path === '/health/ready') {
        const ok = target.path === '/health/live' || deps.ready();
        const body = JSON.stringify({ status: ok ? 'ok' : 'unavailable', redis: deps.redisStatus() });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'x-request-id': requestId });
        res.end(body);
        return ['health', 'anonymous'];
      }
      if (target.path === '/metrics') {
        const m = await deps.metrics(req.headers.accept);
        res.writeHead(200, { 'content-type': m.contentType, 'x-request-id': requestId });
        res.end(m.body);
        return ['metrics', 'anonymous'];
      }

      const route = matchRoute(state.routes, target.path);
      if (!route) throw new GatewayError('GW_ERR_NO_ROUTE', 'No route matches this path');
      routeName = route.name;
      const method = req.method ?? 'GET';
      if (!(route.methods as readonly string[]).includes(method)) {
        throw new GatewayError('GW_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed here`, {
          headers: { allow: route.methods.join(', ') },
        });
      }

      const te = req.headers['transfer-encoding'];
      const cl = req.headers['content-length'];
      const hasBody = te !== undefined || (cl !== undefined && cl !== '0');
      if (cl !== undefined && Number(cl) > config.proxy.bodyLimitBytes)
        throw new GatewayError(
          'GW_ERR_BODY_TOO_LARGE',
          `Request bodies are limited to ${config.proxy.bodyLimitBytes} bytes`,
        );

      const apikey = req.headers.apikey;
      const authenticated = state.auth.authenticate(
        route,
        Array.isArray(apikey) ? apikey[0] : apikey,
        req.headers.authorization,
      );
      // API keys answer synchronously: only a JWT costs an await.
      const principal = authenticated instanceof Promise ? await authenticated : authenticated;
      if (principal) consumer = principal.consumer;

      const clientIp = clientIpOf(req, config.proxy.trustedHops);
      const policy = deps.limiter.select(route.name, principal?.consumer);
      if (policy) {
        const decision = await deps.limiter.decide(policy, {
          route: route.name,
          consumer: principal?.consumer,
          ip: clientIp,
          path: target.path,
          header: (name) => {
            const v = req.headers[name];
            return Array.isArray(v) ? v[0] : v;
          },
        });
        rlHeaders = rateLimitHeaders(decision);
        if (!decision.allowed) {
          throw new GatewayError(
            'GW_ERR_RATE_LIMITED',
            'Rate limit exceeded; retry after the time in Retry-After',
          );
        }
      }

      const upstream = state.upstreams.get(route.upstream);
      if (!upstream) throw new GatewayError('GW_ERR_BAD_GATEWAY', 'No client for this upstream');
      const headers = upstreamRequestHeaders(req.headers, {
        clientIp,
        trustedHops: config.proxy.trustedHops,
        proto: 'http',
        host: req.headers.host,
        requestId,
        // Without a tracing SDK the gateway continues the client's trace itself; with one,
        // the mesh client injects traceparent/tracestate from its span, a child of ours.
        traceparent: traced ? undefined : nextTraceparent(req.headers.traceparent),
        tracestate:
          !traced && typeof req.headers.tracestate === 'string' ? req.headers.tracestate : undefined,
        consumer: principal?.consumer,
        prefix: route.stripPrefix,
      });

      const ac = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) ac.abort();
      };
      res.once('close', onClose);
      const limit = hasBody ? new BodyLimit(config.proxy.bodyLimitBytes) : undefined;
      if (limit) req.pipe(limit);
      const started = performance.now();
      let upstreamRes: Awaited<ReturnType<Upstream['stream']>>;
      try {
        // Runs in the request's SERVER span context (set by the handler below), so the
        // mesh's CLIENT span is its child and the traceparent sent upstream continues it.
        upstreamRes = await upstream.stream({
          method,
          path: upstreamPath(route, target.path) + target.search,
          route: route.name,
          headers,
          body: limit,
          signal: ac.signal,
          ...(route.timeoutMs === undefined ? {} : { timeoutMs: route.timeoutMs }),
          ...(route.deadlineMs === undefined ? {} : { deadlineMs: route.deadlineMs }),
          // Frozen by config validation, so the mesh uses it as is (no validation per call).
          ...(route.retry === undefined ? {} : { retry: route.retry }),
        });
      } catch (err) {
        if (limit?.exceeded)
          throw new GatewayError(
            'GW_ERR_BODY_TOO_LARGE',
            `Request bodies are limited to ${limit.limit} bytes`,
          );
        observeUpstream(route, 'error', (performance.now() - started) / 1000);
        throw err;
      }
      observeUpstream(route, statusClass(upstreamRes.status), (performance.now() - started) / 1000);
      const out = clientResponseHeaders(upstreamRes.headers);
      for (const k in rlHeaders) out[k] = rlHeaders[k];
      out['x-request-id'] = requestId;
      const upstreamVia = out.via;
      out.via = upstreamVia === undefined ? via : `${upstreamVia}, ${via}`;
      res.writeHead(upstreamRes.status, out);
      // Plain pipe rather than stream.pipeline: pipeline allocates and aborts an
      // AbortController per call, which showed in profiles on this hot path.
      await new Promise<void>((resolve) => {
        const body = upstreamRes.body;
        const done = () => {
          res.off('close', onClose);
          resolve();
        };
        // The upstream broke mid-body (the body closes without ending): nothing left
        // to answer but a cut connection. 'close', not 'error': see MeshStreamResponse.
        body.once('close', () => {
          if (!body.readableEnded) res.destroy();
        });
        res.once('close', () => {
          if (!body.destroyed && !body.readableEnded) body.destroy();
          done();
        });
        body.pipe(res);
      });
      return [routeName, consumer];
    } catch (e) {
      let err: GatewayError;
      if (isGatewayError(e)) err = e;
      else if (isMeshError(e)) {
        err =
          e.code === 'MESH_ERR_ABORTED'
            ? new GatewayError('GW_ERR_BAD_REQUEST', 'Client went away')
            : gatewayErrorOf(e);
        if (err.status >= 500)
          deps.log.warn(
            { route: routeName, code: e.code, err: e.message, request_id: requestId },
            'upstream call failed',
          );
      } else {
        deps.log.error({ err: e, route: routeName, request_id: requestId }, 'unexpected error');
        err = new GatewayError('GW_ERR_BAD_GATEWAY', 'Unexpected gateway error');
      }
      sendProblem(req, res, err, requestId, rlHeaders);
      return [routeName, consumer];
    }
  }

  // Labelled children cached by their label values: prom-client hashes a labels
  // object on every call otherwise, and this runs twice per request.
  const requestsBy = new Map<string, { inc(): void }>();
  const durationBy = new Map<string, { observe(v: number): void }>();
  const upstreamBy = new Map<string, { observe(v: number): void }>();
  const observeUpstream = (route: RouteConfig, sc: string, seconds: number) => {
    const k = `${route.name}\0${route.upstream}\0${sc}`;
    let h = upstreamBy.get(k);
    if (!h) {
      h = upstreamDuration.labels(route.name, route.upstream, sc);
      upstreamBy.set(k, h);
    }
    h.observe(seconds);
  };
  const record = (method: string, route: string, consumer: string, status: number, seconds: number) => {
    const sc = statusClass(status);
    const rk = `${route}\0${consumer}\0${sc}`;
    let r = requestsBy.get(rk);
    if (!r) {
      r = requests.labels(route, consumer, sc);
      requestsBy.set(rk, r);
    }
    r.inc();
    const dk = `${method}\0${route}\0${sc}`;
    let d = durationBy.get(dk);
    if (!d) {
      d = serverDuration.labels(method, route, sc);
      durationBy.set(dk, d);
    }
    d.observe(seconds);
  };

  const tracer = getTracer('@breakwater/gateway');
  const untraced = (url: string | undefined) =>
    url === '/metrics' || url === '/health/live' || url === '/health/ready';

  return (req, res) => {
    const start = performance.now();
    inFlight.inc();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    if (untraced(req.url)) {
      void handle(req, res, requestId).then(([route, consumer]) => {
        inFlight.dec();
        record(method, route, consumer, res.statusCode, (performance.now() - start) / 1000);
      });
      return;
    }
    // One SERVER span per request, continuing the client's trace; the whole
    // pipeline runs in its context, so log lines get trace_id/span_id from the
    // logger's mixin and the mesh client's span is its child.
    const parent = extractTraceContext(req.headers);
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    void otelContext
      .with(trace.setSpan(parent, span), handle, undefined, req, res, requestId, span.isRecording())
      .then(([route, consumer]) => {
        inFlight.dec();
        const status = res.statusCode;
        record(method, route, consumer, status, (performance.now() - start) / 1000);
        if (span.isRecording()) {
          span.updateName(`${method} ${route}`);
          span.setAttribute('http.route', route);
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      });
  };
}

function clientIpOf(req: IncomingMessage, trustedHops: number): string {
  const socketIp = req.socket.remoteAddress ?? 'unknown';
  if (trustedHops === 0) return socketIp;
  const xff = req.headers['x-forwarded-for'];
  if (typeof xff !== 'string') return socketIp;
  const hops = xff.split(',').map((s) => s.trim());
  return hops[Math.max(0, hops.length - trustedHops)] ?? socketIp;
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
