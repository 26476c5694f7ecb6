/**
 * gateway.yaml → Kong declarative configuration (_format_version "3.0", DB-less).
 *
 * - One Kong service per route: Kong strips a route's whole matched path, so
 *   the part we keep (`/api/orders` minus `/api` = `/orders`) becomes the
 *   service's path. Timeouts: connect = pool.connectTimeoutMs, read/write =
 *   the per-try timeout; `retries` = retry.maxRetries (Kong retries
 *   connection failures only, never 5xx answers — an approximation).
 * - Auth: key-auth (header `apikey`) and jwt (`iss` names the credential,
 *   exp verified) on every `auth: required` route, both with an anonymous
 *   fallback and a request-termination (401) for that anonymous consumer:
 *   Kong's documented way to accept either credential. Credentials hidden
 *   from upstreams, as the gateway does.
 * - Rate limits: one rate-limiting plugin per policy, scoped to its route,
 *   consumer or both (Kong picks the most specific, as the gateway does),
 *   policy redis. `fixed` renders one to one. `sliding` (GCRA) cannot be
 *   expressed by open-source Kong: it is rendered as fixed windows with the
 *   same quotas and tagged `approximation-sliding-as-fixed`.
 *   `onRedisDown: fail-open` → fault_tolerant true (Kong then stops limiting
 *   instead of counting locally — another approximation, tagged).
 * - staleIfError → proxy-cache (strategy memory, cache_control true so the
 *   upstream's max-age and no-store/private are honoured, GET and HEAD, 200
 *   only), tagged `approximation-cache-not-stale-if-error`: open-source
 *   Kong's proxy-cache serves fresh copies while the upstream is well and
 *   never a stale one when it fails; storage_ttl keeps copies as long as the
 *   gateway would serve them stale.
 * - methodsAt: Kong routes take methods per route, not per position under the
 *   prefix; the route's whole `methods` are rendered, and a method no route
 *   takes is Kong's 404, not the gateway's 405 with Allow.
 */
import { createPublicKey } from 'node:crypto';
import { resolve } from 'node:path';
import { jwkFromFile } from '@breakwater/gateway/auth';
import type { GatewayConfig, RouteConfig } from '@breakwater/gateway/config';

export interface RenderResult {
  doc: Record<string, unknown>;
  approximations: string[];
}

const ANONYMOUS = 'anonymous';

function servicePath(route: RouteConfig): string {
  if (route.stripPrefix === undefined) return '/';
  const kept = route.path.slice(route.stripPrefix.length);
  return kept === '' ? '/' : kept;
}

/** Kong's proxy-cache for a route with staleIfError: the closest open-source Kong has. */
function proxyCache(c: NonNullable<RouteConfig['staleIfError']>): Record<string, unknown> {
  return {
    name: 'proxy-cache',
    tags: ['approximation-cache-not-stale-if-error'],
    config: {
      strategy: 'memory',
      memory: { dictionary_name: 'kong_db_cache' },
      request_method: ['GET', 'HEAD'],
      response_code: [200],
      content_type: ['application/json', 'application/json; charset=utf-8', 'text/plain'],
      // Honour the upstream's Cache-Control (max-age, s-maxage, no-store, private), as the gateway does.
      cache_control: true,
      // Only for answers without a max-age: the gateway keeps those 0 s fresh.
      cache_ttl: 1,
      storage_ttl: c.defaultSeconds,
    },
  };
}

export function renderKong(config: GatewayConfig, baseDir: string): RenderResult {
  const approximations: string[] = [
    'kong: route paths are plain prefixes, so /api/orders also matches /api/ordersX (the gateway matches whole path segments)',
  ];
  const ns = config.render.namespace;
  const anyAuth = config.routes.some((r) => r.auth === 'required');
  const services = config.routes.map((route) => {
    const up = config.upstreams[route.upstream];
    if (!up) throw new Error(`route ${route.name}: unknown upstream ${route.upstream}`);
    const timeout = route.timeoutMs ?? up.timeoutMs;
    const plugins: Record<string, unknown>[] = [];
    if (route.auth === 'required') {
      plugins.push(
        {
          name: 'key-auth',
          config: {
            key_names: ['apikey'],
            key_in_header: true,
            key_in_query: false,
            key_in_body: false,
            hide_credentials: true,
            anonymous: ANONYMOUS,
          },
        },
        {
          name: 'jwt',
          config: {
            header_names: ['authorization'],
            uri_param_names: [],
            cookie_names: [],
            key_claim_name: 'iss',
            claims_to_verify: ['exp'],
            secret_is_base64: false,
            anonymous: ANONYMOUS,
          },
        },
      );
    }
    if (route.allowConsumers)
      plugins.push({ name: 'acl', config: { allow: [...route.allowConsumers], hide_groups_header: true } });
    if (route.staleIfError) {
      plugins.push(proxyCache(route.staleIfError));
      approximations.push(
        `kong: route "${route.name}" serves its last good answers when the upstream fails (stale-if-error); open-source Kong's proxy-cache caches fresh answers (max-age honoured) but never serves a stale one on failure — rendered as that cache`,
      );
    }
    if (route.methodsAt)
      approximations.push(
        `kong: route "${route.name}" narrows methods by position (methodsAt); Kong takes ${route.methods.join(', ')} everywhere under ${route.path}, and a method no route takes is 404, not 405 with Allow`,
      );
    return {
      name: route.name,
      url: `http://${route.upstream}.${ns}.svc:80${servicePath(route)}`,
      connect_timeout: up.pool.connectTimeoutMs,
      read_timeout: timeout,
      write_timeout: timeout,
      retries: route.retry?.maxRetries ?? up.retry.maxRetries,
      routes: [
        {
          name: route.name,
          paths: [route.path],
          methods: [...route.methods],
          strip_path: route.stripPrefix !== undefined,
          preserve_host: false,
          protocols: ['http', 'https'],
          ...(plugins.length > 0 ? { plugins } : {}),
        },
      ],
    };
  });

  const consumers: Record<string, unknown>[] = config.consumers.map((c) => {
    const jwtSecrets = c.jwt.map((cred) =>
      cred.algorithm === 'HS256'
        ? { key: cred.key, algorithm: 'HS256', secret: cred.secret }
        : {
            key: cred.key,
            algorithm: cred.algorithm,
            // Kong takes RS256 and ES256 public keys as PEM in rsa_public_key.
            rsa_public_key: createPublicKey({
              key: jwkFromFile(resolve(baseDir, cred.jwks), cred.kid) as import('node:crypto').JsonWebKey,
              format: 'jwk',
            })
              .export({ type: 'spki', format: 'pem' })
              .toString(),
          },
    );
    return {
      username: c.name,
      ...(c.apiKeys.length > 0 ? { keyauth_credentials: c.apiKeys.map((key) => ({ key })) } : {}),
      ...(jwtSecrets.length > 0 ? { jwt_secrets: jwtSecrets } : {}),
      ...(config.routes.some((r) => r.allowConsumers?.includes(c.name)) ? { acls: [{ group: c.name }] } : {}),
    };
  });
  if (anyAuth) consumers.push({ username: ANONYMOUS });

  const plugins: Record<string, unknown>[] = [];
  if (anyAuth) {
    plugins.push({
      name: 'request-termination',
      consumer: ANONYMOUS,
      config: { status_code: 401, message: 'Credentials required: send an apikey header or a Bearer token' },
    });
  }
  for (const p of config.rateLimits) {
    const tags = [`bw-policy-${p.name}`];
    if (p.window === 'sliding') {
      tags.push('approximation-sliding-as-fixed');
      approximations.push(
        `kong: policy "${p.name}" is a sliding window (GCRA); open-source Kong has only fixed windows — rendered as fixed windows with the same quotas (bursts up to 2x at a window edge)`,
      );
    }
    if (p.onRedisDown === 'fail-open') {
      tags.push('approximation-fail-open-unlimited');
      approximations.push(
        `kong: policy "${p.name}" fails open to a local limiter; Kong's fault_tolerant=true stops limiting while Redis is down`,
      );
    }
    plugins.push({
      name: 'rate-limiting',
      ...(p.route === undefined ? {} : { route: p.route }),
      ...(p.consumer === undefined ? {} : { consumer: p.consumer }),
      tags,
      config: {
        ...p.limits,
        limit_by: p.limitBy,
        ...(p.limitBy === 'header' ? { header_name: p.header } : {}),
        ...(p.limitBy === 'path' ? { path: config.routes.find((r) => r.name === p.route)?.path ?? '/' } : {}),
        policy: 'redis',
        redis: { host: config.render.redisHost, port: config.render.redisPort, database: 0, timeout: 2000 },
        fault_tolerant: p.onRedisDown === 'fail-open',
        hide_client_headers: p.hideClientHeaders,
        error_code: 429,
        error_message: 'Rate limit exceeded; retry after the time in Retry-After',
      },
    });
    if (p.limitBy === 'path' && p.route === undefined)
      approximations.push(`kong: policy "${p.name}" limits by path without a route; rendered with path "/"`);
  }

  return {
    doc: { _format_version: '3.0', services, consumers, ...(plugins.length > 0 ? { plugins } : {}) },
    approximations,
  };
}
