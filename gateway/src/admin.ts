/**
 * The admin API: loopback only, bearer token, JSON in and out.
 *
 *   GET    /admin/config               the running config (secrets redacted)
 *   GET    /admin/limits               every policy: configured, override, effective
 *   PUT    /admin/limits               {"policy": "alice", "limits": {"minute": 200}}
 *                                      or {"route": "catalog", "consumer": "alice", "limits": {…}}
 *   DELETE /admin/limits/<policy>      drop the override, back to gateway.yaml
 *   POST   /admin/reload               re-read gateway.yaml (same as SIGHUP)
 *   GET    /metrics                    this process's metrics — no token (see below)
 *
 * `/metrics` is also served here, without the token, because the public port
 * is shared by every gateway process (SO_REUSEPORT): a scrape there reaches a
 * random process, so Prometheus scrapes each process on its own admin port.
 * The admin port listens on 127.0.0.1 only and metrics carry no secrets, so
 * the token (which can change limits) is not handed to Prometheus.
 *
 * A limit change is validated before anything is written (400 and nothing
 * changed otherwise), logged, stored in Redis where every gateway's next
 * decision reads it, and shown in bw_gateway_ratelimit_limit at once.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@breakwater/observability';
import { z } from 'zod';
import { type GatewayConfig, WINDOWS } from './config.ts';
import { GatewayError, isGatewayError, problemOf } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface AdminDeps {
  token: string;
  config: () => GatewayConfig;
  limiter: RateLimiter;
  reload: () => Promise<{ ok: boolean; error?: string }>;
  log: Logger;
  instance: string;
  /** The process's metrics (Prometheus text or OpenMetrics by `Accept`). */
  metrics: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
}

const MAX_ADMIN_BODY = 64 * 1024;

const limitsBody = z
  .strictObject({
    policy: z.string().optional(),
    route: z.string().optional(),
    consumer: z.string().optional(),
    limits: z.strictObject({
      second: z.int().positive().optional(),
      minute: z.int().positive().optional(),
      hour: z.int().positive().optional(),
    }),
  })
  .refine((b) => b.policy !== undefined || b.route !== undefined || b.consumer !== undefined, {
    message: 'name a policy, or the route and/or consumer it is attached to',
  });

function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1] as string);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function redactConfig(config: GatewayConfig): unknown {
  return {
    ...config,
    consumers: config.consumers.map((c) => ({
      ...c,
      apiKeys: c.apiKeys.map((k) => `${k.slice(0, 4)}…(${k.length} chars)`),
      jwt: c.jwt.map((j) => (j.algorithm === 'HS256' ? { ...j, secret: '(redacted)' } : j)),
    })),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_ADMIN_BODY) throw new GatewayError('GW_ERR_ADMIN_BAD_PAYLOAD', 'Body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createAdminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    const text = JSON.stringify(body, null, 2);
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  };

  const limitsView = () =>
    deps.limiter.policies.map((p) => ({
      policy: p.name,
      route: p.route ?? null,
      consumer: p.consumer ?? null,
      window: p.window,
      limitBy: p.limitBy,
      onRedisDown: p.onRedisDown,
      configured: p.limits,
      override: deps.limiter.overrideOf(p.name) ?? null,
      effective: deps.limiter.effectiveLimits(p),
    }));

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.url ?? '/').split('?')[0] === '/metrics') {
      const m = await deps.metrics(req.headers.accept);
      res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : m.body);
      return;
    }
    if (!tokenMatches(deps.token, req.headers.authorization))
      throw new GatewayError(
        'GW_ERR_ADMIN_UNAUTHORIZED',
        'Send Authorization: Bearer <GATEWAY_ADMIN_TOKEN>',
        {
          headers: { 'www-authenticate': 'Bearer realm="breakwater-admin"' },
        },
      );
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/admin/config') {
      return send(res, 200, { instance: deps.instance, config: redactConfig(deps.config()) });
    }
    if (method === 'GET' && path === '/admin/limits')
      return send(res, 200, { instance: deps.instance, limits: limitsView() });
    if (method === 'PUT' && path === '/admin/limits') {
      let json: unknown;
      try {
        json = JSON.parse(await readBody(req));
      } catch (e) {
        if (isGatewayError(e)) throw e;
        throw new GatewayError('GW_ERR_ADMIN_BAD_PAYLOAD', 'Body is not valid JSON');
      }
      const parsed = limitsBody.safeParse(json);
      if (!parsed.success)
        throw new GatewayError(
          'GW_ERR_ADMIN_BAD_PAYLOAD',
          parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
        );
      const b = parsed.data;
      const policy =
        b.policy ?? deps.limiter.policies.find((p) => p.route === b.route && p.consumer === b.consumer)?.name;
      if (policy === undefined)
        throw new GatewayError(
          'GW_ERR_ADMIN_NOT_FOUND',
          `no policy attached to route ${b.route ?? '(any)'} and consumer ${b.consumer ?? '(any)'}`,
        );
      const limits: Record<string, number> = {};
      for (const w of WINDOWS) if (b.limits[w] !== undefined) limits[w] = b.limits[w];
      const effective = await deps.limiter.setOverride(policy, limits).catch((e: unknown) => {
        if (isGatewayError(e)) throw e;
        throw new GatewayError('GW_ERR_RATE_LIMIT_UNAVAILABLE', 'Redis is unreachable; nothing was changed', {
          cause: e,
        });
      });
      return send(res, 200, { policy, effective });
    }
    const del = /^\/admin\/limits\/([a-z][a-z0-9-]*)$/.exec(path ?? '');
    if (method === 'DELETE' && del) {
      const effective = await deps.limiter.clearOverride(del[1] as string).catch((e: unknown) => {
        if (isGatewayError(e)) throw e;
        throw new GatewayError('GW_ERR_RATE_LIMIT_UNAVAILABLE', 'Redis is unreachable; nothing was changed', {
          cause: e,
        });
      });
      return send(res, 200, { policy: del[1], effective });
    }
    if (method === 'POST' && path === '/admin/reload') {
      const r = await deps.reload();
      return send(res, r.ok ? 200 : 400, r);
    }
    throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `${method} ${path} is not an admin endpoint`);
  }

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      const err = isGatewayError(e) ? e : new GatewayError('GW_ERR_ADMIN_BAD_PAYLOAD', 'Request failed');
      if (!isGatewayError(e)) deps.log.error({ err: e }, 'admin request failed');
      const body = JSON.stringify(problemOf(err, 'admin', req.url));
      res.writeHead(err.status, { ...err.headers, 'content-type': 'application/problem+json' });
      res.end(body);
    });
  };
}
