/**
 * The server kit every service starts from: an express app with health,
 * readiness, /metrics, request ids, a JSON access log with trace ids,
 * route-template metrics, problem+json errors, a body limit, inbound
 * deadlines, the fault filter with its loopback admin endpoint, and graceful
 * shutdown.
 *
 *   const kit = createServiceApp({ service: 'catalog', routes: (r) => { r.get('/products/:id', handler) } });
 *   kit.addReadinessCheck('postgres', () => pool.query('select 1'));
 *   kit.addCloser('postgres', () => pool.end());
 *   await kit.listen({ host, port });
 *
 * Middleware order: request id → /health/*, /metrics → telemetry and access
 * log → deadline (504 at once when already expired) → fault filter → JSON
 * body → the service's routes → 404 → problem+json.
 */

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  collectProcessMetrics,
  counter,
  createLogger,
  extractTraceContext,
  gauge,
  getTracer,
  histogram,
  type Logger,
  renderMetrics,
  setServiceLabel,
  statusClass,
} from '@breakwater/observability';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { createAdminApp } from './admin.ts';
import { Deadline, remainingFromHeaders } from './deadline.ts';
import { MeshError } from './errors.ts';
import { FaultFilter } from './faults.ts';
import { formatIssues } from './policy.ts';
import { renderProblem } from './problem.ts';

/** Per-request context, as `req.bw`. */
export class RequestContext {
  readonly requestId: string;
  /** The inbound deadline, when the caller sent one (x-bw-timeout-ms, grpc-timeout, x-envoy-expected-rq-timeout-ms). */
  readonly deadline: Deadline | undefined;
  readonly log: Logger;
  readonly traceId: string | undefined;
  #controller: AbortController | undefined;
  #res: Response | undefined;

  constructor(requestId: string, deadline: Deadline | undefined, log: Logger, traceId: string | undefined) {
    this.requestId = requestId;
    this.deadline = deadline;
    this.log = log;
    this.traceId = traceId;
  }

  /** Milliseconds left before the deadline; Infinity without one. */
  remainingMs(): number {
    return this.deadline ? this.deadline.remainingMs() : Number.POSITIVE_INFINITY;
  }

  /**
   * Refuses work that cannot finish in time: throws MESH_ERR_DEADLINE_EXPIRED
   * (504) when less than `neededMs` is left, so a handler behind a 300 ms
   * budget never starts a 2 s query. No-op without a deadline.
   */
  requireBudget(neededMs: number, what = 'this work'): void {
    const left = this.remainingMs();
    if (left < neededMs) {
      throw new MeshError(
        'MESH_ERR_DEADLINE_EXPIRED',
        `${Math.max(0, Math.floor(left))} ms left of the caller's deadline, ${what} needs ${neededMs} ms`,
      );
    }
  }

  /**
   * Aborts at the deadline (reason: MeshError MESH_ERR_DEADLINE_EXPIRED) or
   * when the client goes away before the response is sent. Pass it to every
   * query and outbound call.
   */
  get signal(): AbortSignal {
    return this.controller().signal;
  }

  /** @internal */
  controller(): AbortController {
    if (!this.#controller) {
      this.#controller = new AbortController();
      const res = this.#res;
      if (res) {
        const ac = this.#controller;
        res.once('close', () => {
          if (!res.writableFinished && !ac.signal.aborted) {
            ac.abort(new MeshError('MESH_ERR_ABORTED', 'client closed the connection'));
          }
        });
      }
    }
    return this.#controller;
  }

  /** @internal */
  bind(res: Response): void {
    this.#res = res;
  }
}

declare global {
  namespace Express {
    interface Request {
      /** Breakwater's request context: id, deadline, signal, logger. */
      bw: RequestContext;
    }
  }
}

/** A readiness check: resolve (or return true) when the dependency is reachable. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown> | unknown;
export type Closer = () => Promise<unknown> | unknown;

export const ServerSettingsSchema = z.strictObject({
  /** Service name: logs, metrics' `service` label. */
  service: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case name'),
  /** Largest JSON body accepted (default 1 MiB); bytes or a string such as '100kb'. */
  bodyLimit: z.union([z.number().int().min(1), z.string().min(1)]).default(1_048_576),
  /** Each readiness check must answer within this, ms (default 1 s). */
  readinessTimeoutMs: z.number().int().min(1).max(60_000).default(1_000),
  /** After SIGTERM: readiness false but still serving, so balancers notice, ms (default 5 s). */
  drainDelayMs: z.number().int().min(0).max(300_000).default(5_000),
  /** Longest wait for in-flight requests once the listener is closed, ms (default 10 s). */
  shutdownTimeoutMs: z.number().int().min(0).max(300_000).default(10_000),
  /** Each closer gets this long, ms (default 5 s). */
  closerTimeoutMs: z.number().int().min(0).max(300_000).default(5_000),
  /** Log one JSON line per request (default true). */
  accessLog: z.boolean().default(true),
  /** Loopback admin endpoint (fault filter); off when absent. */
  admin: z
    .strictObject({
      port: z.number().int().min(0).max(65_535),
      token: z.string().min(16, 'must be at least 16 characters'),
      host: z.enum(['127.0.0.1', '::1']).default('127.0.0.1'),
    })
    .optional(),
  /** Signals that start a graceful shutdown then exit 0 (default SIGTERM, SIGINT); [] for none. */
  signals: z.array(z.enum(['SIGTERM', 'SIGINT', 'SIGHUP'])).default(['SIGTERM', 'SIGINT']),
});

export type ServerSettings = z.output<typeof ServerSettingsSchema>;

export interface ServiceAppOptions extends z.input<typeof ServerSettingsSchema> {
  /** Adds the service's routes. Routes may also be added to `kit.router` later. */
  routes?: (router: Router, kit: ServiceApp) => void;
  /** Logger (default: one created for `service`). */
  logger?: Logger;
  /** Called with the exit code after a signal-driven shutdown (default `process.exit`). */
  exit?: (code: number) => void;
  /** Random source of the fault filter (tests). */
  random?: () => number;
}

export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** SO_REUSEPORT: several processes share one port (Node 24). */
  reusePort?: boolean;
}

export interface ServiceApp {
  readonly app: express.Express;
  /** The service's routes; mounted before the 404 and error handlers. */
  readonly router: Router;
  readonly logger: Logger;
  readonly faults: FaultFilter;
  readonly settings: Readonly<ServerSettings>;
  /** True while no shutdown has started (readiness also needs every check to pass). */
  readonly accepting: boolean;
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** Runs at shutdown after in-flight requests finished, in reverse order of registration. */
  addCloser(name: string, closer: Closer): void;
  listen(options?: ListenOptions): Promise<{ host: string; port: number; adminPort?: number }>;
  /** Graceful shutdown (idempotent): readiness false, drain, close listener, wait, closers. */
  shutdown(reason?: string): Promise<void>;
  /** The HTTP server once listening. */
  readonly server: http.Server | undefined;
}

/** Route label for a request: the matched template, `unmatched` otherwise. */
function routeOf(req: Request): string {
  const r = (req as Request & { route?: { path?: unknown } }).route;
  if (!r || r.path === undefined) return 'unmatched';
  const p = typeof r.path === 'string' ? r.path : String(r.path);
  return (req.baseUrl || '') + p;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the express app and its lifecycle. Settings are validated (MESH_ERR_INVALID_POLICY) and frozen. */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const { routes, logger: givenLogger, exit, random, ...rest } = options;
  const parsed = ServerSettingsSchema.safeParse(rest);
  if (!parsed.success) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `invalid server settings: ${formatIssues('server', parsed.error)}`,
    );
  }
  const settings = Object.freeze(parsed.data);
  const logger = givenLogger ?? createLogger({ service: settings.service });
  setServiceLabel(settings.service);
  collectProcessMetrics();

  const faults = new FaultFilter(random);
  const checks = new Map<string, ReadinessCheck>();
  const closers: Array<{ name: string; closer: Closer }> = [];
  const tracer = getTracer('@breakwater/mesh');
  const duration = histogram('httpServerDuration', { exemplars: true });
  const inFlightGauge = gauge('httpServerInFlight');
  counter('faultsInjected'); // registered up front so dashboards see it at 0

  let accepting = true;
  let inFlight = 0;
  let server: http.Server | undefined;
  let adminServer: http.Server | undefined;
  let shutdownPromise: Promise<void> | undefined;
  let idle: (() => void) | undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Request id: accepted from the caller when sane, else generated; always echoed.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    if (!accepting) res.setHeader('connection', 'close');
    req.bw = new RequestContext(id, undefined, logger, undefined);
    next();
  });

  // Health and metrics: before telemetry, deadlines and faults, never faulted.
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', async (_req, res) => {
    const result = await readiness();
    res.status(result.ready ? 200 : 503).json(result.body);
  });
  app.get('/metrics', async (req, res, next) => {
    try {
      const m = await renderMetrics(req.headers.accept);
      res.setHeader('content-type', m.contentType);
      res.send(m.body);
    } catch (err) {
      next(err);
    }
  });

  // Telemetry: server span, in-flight gauge, duration by route template, access log.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    inFlight++;
    inFlightGauge.inc();
    const parent = extractTraceContext(req.headers);
    const span = tracer.startSpan(`${req.method}`, { kind: SpanKind.SERVER }, parent);
    const sc = span.spanContext();
    const traceId = trace.isSpanContextValid(sc) ? sc.traceId : undefined;
    const remaining = remainingFromHeaders(req.headers);
    const deadline = remaining === undefined ? undefined : new Deadline(start + remaining);
    // No trace-id child bindings: the logger's mixin stamps trace_id/span_id
    // from the active context, which is this span for the whole request.
    const spanContext = trace.setSpan(parent, span);
    const ctx = new RequestContext(req.bw.requestId, deadline, logger, traceId);
    ctx.bind(res);
    req.bw = ctx;
    let done = false;
    const onDone = () => {
      if (done) return;
      done = true;
      inFlight--;
      inFlightGauge.dec();
      const route = routeOf(req);
      const status = res.headersSent ? res.statusCode : 499;
      const seconds = (performance.now() - start) / 1000;
      const labels = { method: req.method, route, status_class: statusClass(status) };
      if (traceId) {
        // Exemplar labels are free-form in OpenMetrics; prom-client types them as the metric's labels.
        const exemplarLabels = { trace_id: traceId } as unknown as typeof labels;
        duration.observe({ labels, value: seconds, exemplarLabels });
      } else duration.labels(labels).observe(seconds);
      span.updateName(`${req.method} ${route}`);
      if (span.isRecording()) {
        span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      if (settings.accessLog) {
        // 'finish'/'close' fire outside the request's context: log inside it.
        otelContext.with(spanContext, () =>
          logger.info(
            {
              request_id: ctx.requestId,
              method: req.method,
              route,
              status,
              duration_ms: Math.round(seconds * 1e4) / 10,
              ...(res.writableFinished ? {} : { aborted: true }),
            },
            'request',
          ),
        );
      }
      if (inFlight === 0 && idle) idle();
    };
    res.once('finish', onDone);
    res.once('close', onDone);
    otelContext.with(spanContext, next);
  });

  // Deadline: refuse work whose caller has already given up; answer 504 when it runs out.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const d = req.bw.deadline;
    if (!d) return next();
    const left = d.remainingMs();
    if (left <= 0) {
      next(new MeshError('MESH_ERR_DEADLINE_EXPIRED', 'the request arrived after its deadline'));
      return;
    }
    const ac = req.bw.controller();
    const timer = setTimeout(() => {
      const err = new MeshError(
        'MESH_ERR_DEADLINE_EXPIRED',
        `the request's deadline (${Math.round(left)} ms) ran out`,
      );
      ac.abort(err);
      if (!res.headersSent) sendProblem(req, res, err);
    }, Math.ceil(left));
    res.once('close', () => clearTimeout(timer));
    next();
  });

  app.use(faults.middleware);
  app.use(express.json({ limit: settings.bodyLimit, type: ['application/json', 'application/*+json'] }));

  // A fault delay or a slow body may outlast the deadline: once the 504 is
  // out, the handler never starts.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (!res.headersSent) next();
  });

  const router = express.Router();
  app.use(router);

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new MeshError('MESH_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // Too late for a problem body. A handler that kept going after its
      // deadline answered 504 is expected and quiet; anything else is logged,
      // and a half-sent body is cut so the client sees the failure.
      const deadlineAnswered = req.bw?.deadline !== undefined && req.bw.signal.aborted;
      if (!res.writableEnded) {
        req.bw?.log.error({ err }, 'error while sending the response');
        res.destroy();
      } else if (!deadlineAnswered) {
        req.bw?.log.warn({ err }, 'error after the response was sent');
      }
      return;
    }
    sendProblem(req, res, err);
  });

  function sendProblem(req: Request, res: Response, err: unknown): void {
    const p = renderProblem(err, req.bw?.requestId, req.originalUrl.split('?')[0]);
    if (p.unexpected) req.bw?.log.error({ err }, 'unexpected error');
    res.status(p.status).set(p.headers).send(JSON.stringify(p.body));
  }

  async function readiness(): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const results: Record<string, string> = {};
    let ok = accepting;
    await Promise.all(
      [...checks].map(async ([name, check]) => {
        const signal = AbortSignal.timeout(settings.readinessTimeoutMs);
        try {
          const v = await Promise.race([
            Promise.resolve().then(() => check(signal)),
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true }),
            ),
          ]);
          if (v === false) throw new Error('check returned false');
          results[name] = 'ok';
        } catch (err) {
          ok = false;
          results[name] = (err as Error)?.message ?? String(err);
        }
      }),
    );
    return {
      ready: ok,
      body: { status: accepting ? (ok ? 'ready' : 'not_ready') : 'draining', checks: results },
    };
  }

  const kit: ServiceApp = {
    app,
    router,
    logger,
    faults,
    settings,
    get accepting() {
      return accepting;
    },
    get server() {
      return server;
    },
    addReadinessCheck(name, check) {
      checks.set(name, check);
    },
    addCloser(name, closer) {
      closers.push({ name, closer });
    },
    async listen(o = {}) {
      if (server) throw new MeshError('MESH_ERR_INVALID_REQUEST', 'listen() called twice');
      const host = o.host ?? '127.0.0.1';
      const s = http.createServer(app);
      s.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host, port: o.port ?? 0, reusePort: o.reusePort ?? false }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      const out: { host: string; port: number; adminPort?: number } = {
        host,
        port: (s.address() as AddressInfo).port,
      };
      if (settings.admin) {
        const a = http.createServer(createAdminApp({ token: settings.admin.token, faults }));
        const admin = settings.admin;
        await new Promise<void>((resolve, reject) => {
          a.once('error', reject);
          a.listen({ host: admin.host, port: admin.port }, () => {
            a.off('error', reject);
            resolve();
          });
        });
        adminServer = a;
        out.adminPort = (a.address() as AddressInfo).port;
      }
      for (const sig of settings.signals) {
        process.once(sig, () => {
          logger.info({ signal: sig }, 'shutting down');
          kit.shutdown(sig).then(
            () => (exit ?? process.exit)(0),
            (err) => {
              logger.error({ err }, 'shutdown failed');
              (exit ?? process.exit)(1);
            },
          );
        });
      }
      logger.info({ ...out }, 'listening');
      return out;
    },
    shutdown(reason = 'shutdown') {
      shutdownPromise ??= drain(reason);
      return shutdownPromise;
    },
  };

  async function drain(reason: string): Promise<void> {
    accepting = false;
    logger.info({ reason, drainDelayMs: settings.drainDelayMs }, 'draining: readiness is false');
    if (settings.drainDelayMs > 0) await new Promise((r) => setTimeout(r, settings.drainDelayMs));
    const s = server;
    if (s) {
      const closed = new Promise<void>((r) => s.close(() => r()));
      s.closeIdleConnections();
      if (inFlight > 0) {
        const drained = new Promise<void>((r) => {
          idle = r;
        });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), settings.shutdownTimeoutMs);
        });
        const late = await Promise.race([drained.then(() => false), timedOut]);
        clearTimeout(timer);
        if (late) logger.warn({ inFlight }, 'shutdown timeout: closing connections with requests in flight');
      }
      s.closeAllConnections();
      await closed;
    }
    for (const { name, closer } of [...closers].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(closer),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`closer ${name} timed out`)), settings.closerTimeoutMs);
          }),
        ]);
      } catch (err) {
        logger.error({ err, closer: name }, 'closer failed');
      } finally {
        clearTimeout(timer);
      }
    }
    if (adminServer) {
      const a = adminServer;
      await new Promise<void>((r) => a.close(() => r()));
      a.closeAllConnections();
    }
    logger.info('shutdown complete');
    logger.flush?.();
  }

  routes?.(router, kit);
  return kit;
}
