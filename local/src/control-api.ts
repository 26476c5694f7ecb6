/**
 * The supervisor's control API: HTTP on 127.0.0.1, every request with
 * `Authorization: Bearer <token>` (the token is in the 0600 state file).
 * Errors are RFC 9457 problem+json with a stable `code`.
 *
 *   GET  /v1/status                        → { supervisorPid, processes: [...] }
 *   POST /v1/processes/:name/:action        → the process's status; action is
 *        start | stop | kill | pause | resume | restart. A service name with
 *        several instances (catalog → catalog-1, catalog-2) acts on all of
 *        them and answers { processes: [...] }.
 *   POST /v1/services/:service/scale {replicas} → { service, replicas, started, removed, processes }
 *   POST /v1/services/:service/rollout {maxSurge?, maxUnavailable?, drain?}
 *        → { service, replicas, maxSurge, maxUnavailable, drained, started, removed, steps, processes }
 *        (both added by `up`)
 *   POST /v1/shutdown                      → 202; the supervisor stops everything and exits
 *
 * Other modules (the fault controller) add routes with `route()`.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { LocalError } from './errors.ts';
import { LOOPBACK } from './ports.ts';
import { PROCESS_ACTIONS, type ProcessAction, type Supervisor } from './supervisor.ts';

export interface RouteContext {
  params: Record<string, string>;
  /** Parsed JSON body ({} when empty). */
  body: unknown;
  url: URL;
}

export type RouteHandler = (ctx: RouteContext) => Promise<unknown> | unknown;

interface Route {
  method: string;
  parts: string[];
  handler: RouteHandler;
  status: number;
}

const MAX_BODY_BYTES = 64 * 1024;

function sendJson(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendProblem(res: http.ServerResponse, err: LocalError, instance: string): void {
  const p = err.toProblem(undefined, instance);
  sendJson(res, p.status, p.body, p.headers['content-type']);
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new LocalError('LOCAL_ERR_BAD_INPUT', `request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new LocalError('LOCAL_ERR_BAD_INPUT', 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

export interface ControlApiOptions {
  token: string;
  supervisor: Supervisor;
  /** Called (once) by POST /v1/shutdown after the 202 is sent. */
  onShutdown: () => void;
}

export class ControlApi {
  readonly #token: Buffer;
  readonly #routes: Route[] = [];
  readonly #server: http.Server;

  constructor(options: ControlApiOptions) {
    if (options.token.length < 16) throw new RangeError('control token must be at least 16 characters');
    this.#token = Buffer.from(options.token);
    const { supervisor } = options;
    this.route('GET', '/v1/status', () => ({ supervisorPid: process.pid, processes: supervisor.status() }));
    this.route('POST', '/v1/processes/:name/:action', ({ params }) => {
      const action = params.action as ProcessAction;
      if (!PROCESS_ACTIONS.includes(action)) {
        throw new LocalError(
          'LOCAL_ERR_BAD_INPUT',
          `unknown action "${params.action}": use one of ${PROCESS_ACTIONS.join(', ')}`,
        );
      }
      const name = params.name ?? '';
      if (supervisor.names().includes(name)) return supervisor.act(name, action);
      return supervisor.actOn(name, action).then((processes) => ({ processes }));
    });
    this.route(
      'POST',
      '/v1/shutdown',
      () => {
        setImmediate(options.onShutdown);
        return { shuttingDown: true };
      },
      202,
    );
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { title: 'internal error' });
        else res.destroy();
      });
    });
  }

  /** Adds a route; `:name` segments become params. Returning a value answers it as JSON. */
  route(method: string, pattern: string, handler: RouteHandler, status = 200): void {
    this.#routes.push({ method, parts: pattern.split('/').filter(Boolean), handler, status });
  }

  #authorized(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match?.[1]) return false;
    const given = Buffer.from(match[1]);
    return given.length === this.#token.length && timingSafeEqual(given, this.#token);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://control.local');
    try {
      if (!this.#authorized(req)) {
        throw new LocalError(
          'LOCAL_ERR_UNAUTHORIZED',
          'send Authorization: Bearer <token from .run/state.json>',
        );
      }
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      for (const route of this.#routes) {
        if (route.method !== req.method || route.parts.length !== parts.length) continue;
        const params: Record<string, string> = {};
        const matched = route.parts.every((p, i) => {
          const actual = parts[i] ?? '';
          if (p.startsWith(':')) {
            params[p.slice(1)] = actual;
            return true;
          }
          return p === actual;
        });
        if (!matched) continue;
        const body = await readBody(req);
        const result = await route.handler({ params, body, url });
        sendJson(res, route.status, result ?? {});
        return;
      }
      throw new LocalError('LOCAL_ERR_NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      const localErr =
        err instanceof LocalError
          ? err
          : new LocalError('LOCAL_ERR_BAD_STATE', (err as Error).message ?? String(err), { cause: err });
      sendProblem(res, localErr, url.pathname);
    }
  }

  /** Listens on 127.0.0.1 (port 0 = any free port); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: LOOPBACK, port }, () => {
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
