/**
 * Lifecycle: health and readiness endpoints, /metrics, listening (with the
 * loopback admin server), and graceful shutdown — readiness false at once,
 * serve on for `drainDelayMs` so balancers notice, close the listener, wait
 * for in-flight requests (up to `shutdownTimeoutMs`), run the closers in
 * reverse order (each up to `closerTimeoutMs`), close the admin server.
 */
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Logger, renderMetrics } from '@breakwater/observability';
import express from 'express';
import { MeshError } from '../errors.ts';
import { createMtlsServer } from '../identity/server-tls.ts';
import type { WorkloadIdentity } from '../identity/workload-identity.ts';
import { settlesWithin, withTimeout } from '../timeout.ts';
import { createAdminApp } from './admin.ts';
import type { FaultFilter } from './fault-filter.ts';
import type { Closer, ListenOptions, ReadinessCheck, ServerSettings } from './settings.ts';

type Address = { host: string; port: number; adminPort?: number; healthPort?: number };

export class Lifecycle {
  readonly #settings: Readonly<ServerSettings>;
  readonly #logger: Logger;
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #closers: Array<{ name: string; closer: Closer }> = [];
  accepting = true;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  server: http.Server | https.Server | undefined;
  #adminServer: http.Server | undefined;
  #healthServer: http.Server | undefined;
  #shutdown: Promise<void> | undefined;

  constructor(settings: Readonly<ServerSettings>, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
  }

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  addCloser(name: string, closer: Closer): void {
    this.#closers.push({ name, closer });
  }

  /** Counts requests in flight (from the telemetry middleware); the drain waits for 0. */
  readonly onInFlight = (delta: 1 | -1): void => {
    this.#inFlight += delta;
    if (this.#inFlight === 0 && this.#idle) this.#idle();
  };

  /** /health/live, /health/ready and /metrics: before telemetry, deadlines and faults, never faulted. */
  mountHealth(app: express.Express): void {
    app.get('/health/live', (_req, res) => {
      res.json({ status: 'live' });
    });
    app.get('/health/ready', async (_req, res) => {
      const result = await this.readiness();
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
  }

  /** The health port's app: mountHealth's routes, a bare 404 for anything else. */
  healthApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    this.mountHealth(app);
    app.use((_req, res) => {
      res.status(404).end();
    });
    return app;
  }

  async readiness(): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const results: Record<string, string> = {};
    let ok = this.accepting;
    await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        try {
          const v = await withTimeout(check, this.#settings.readinessTimeoutMs, 'timed out');
          if (v === false) throw new Error('check returned false');
          results[name] = 'ok';
        } catch (err) {
          ok = false;
          results[name] = (err as Error)?.message ?? String(err);
        }
      }),
    );
    const status = this.accepting ? (ok ? 'ready' : 'not_ready') : 'draining';
    return { ready: ok, body: { status, checks: results } };
  }

  async listen(
    app: express.Express,
    faults: FaultFilter,
    o: ListenOptions,
    tls?: { identity: WorkloadIdentity; destination: string },
  ): Promise<Address> {
    if (this.server) throw new MeshError('MESH_ERR_INVALID_REQUEST', 'listen() called twice');
    const host = o.host ?? '127.0.0.1';
    const s = tls ? createMtlsServer(app, { ...tls, logger: this.#logger }) : http.createServer(app);
    s.keepAliveTimeout = 5_000;
    await listening(s, { host, port: o.port ?? 0, reusePort: o.reusePort ?? false });
    this.server = s;
    const out: Address = { host, port: (s.address() as AddressInfo).port };
    const admin = this.#settings.admin;
    if (admin) {
      const a = http.createServer(createAdminApp({ token: admin.token, faults }));
      await listening(a, { host: admin.host, port: admin.port });
      this.#adminServer = a;
      out.adminPort = (a.address() as AddressInfo).port;
    }
    const health = this.#settings.health;
    if (health) {
      // Plain HTTP beside an mTLS listener: health and metrics only (nothing else is routed here).
      const h = http.createServer(this.healthApp());
      await listening(h, { host, port: health.port });
      this.#healthServer = h;
      out.healthPort = (h.address() as AddressInfo).port;
    }
    this.#logger.info({ ...out, ...(tls ? { mtls: tls.identity.id } : {}) }, 'listening');
    return out;
  }

  /** Shuts down on each configured signal, then calls `exit` (0, or 1 when the shutdown failed). */
  exitOnSignals(exit: (code: number) => void): void {
    for (const sig of this.#settings.signals) {
      process.once(sig, () => {
        this.#logger.info({ signal: sig }, 'shutting down');
        this.shutdown(sig).then(
          () => exit(0),
          (err) => {
            this.#logger.error({ err }, 'shutdown failed');
            exit(1);
          },
        );
      });
    }
  }

  shutdown(reason = 'shutdown'): Promise<void> {
    this.#shutdown ??= this.#drain(reason);
    return this.#shutdown;
  }

  async #drain(reason: string): Promise<void> {
    const { drainDelayMs } = this.#settings;
    this.accepting = false;
    this.#logger.info({ reason, drainDelayMs }, 'draining: readiness is false');
    if (drainDelayMs > 0) await new Promise((r) => setTimeout(r, drainDelayMs));
    if (this.server) await this.#closeServer(this.server);
    for (const { name, closer } of [...this.#closers].reverse()) {
      try {
        await withTimeout(closer, this.#settings.closerTimeoutMs, `closer ${name} timed out`);
      } catch (err) {
        this.#logger.error({ err, closer: name }, 'closer failed');
      }
    }
    // Last: the kubelet keeps reading "draining" from the health port until the process ends.
    for (const a of [this.#adminServer, this.#healthServer]) {
      if (a === undefined) continue;
      await new Promise<void>((r) => a.close(() => r()));
      a.closeAllConnections();
    }
    this.#logger.info('shutdown complete');
    this.#logger.flush?.();
  }

  /** Closes the listener and idle connections, waits for in-flight requests, then cuts what is left. */
  async #closeServer(s: http.Server | https.Server): Promise<void> {
    const closed = new Promise<void>((r) => s.close(() => r()));
    s.closeIdleConnections();
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((r) => {
        this.#idle = r;
      });
      if (!(await settlesWithin(drained, this.#settings.shutdownTimeoutMs))) {
        this.#logger.warn(
          { inFlight: this.#inFlight },
          'shutdown timeout: closing connections with requests in flight',
        );
      }
    }
    s.closeAllConnections();
    await closed;
  }
}

function listening(
  s: http.Server | https.Server,
  o: { host: string; port: number; reusePort?: boolean },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(o, () => {
      s.off('error', reject);
      resolve();
    });
  });
}
