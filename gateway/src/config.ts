/**
 * gateway.yaml: the one config of the edge. Parsed once at start-up (and on
 * SIGHUP), validated with unknown keys refused and every error naming its
 * field (`routes[1].upstream: unknown upstream "nope"`), then deep-frozen.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RetryOverrideSchema, UpstreamPolicySchema } from '@breakwater/mesh/policy';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

export const WINDOWS = ['second', 'minute', 'hour'] as const;
export type WindowName = (typeof WINDOWS)[number];
export const WINDOW_SECONDS: Record<WindowName, number> = { second: 1, minute: 60, hour: 3600 };

const positiveInt = z.int().positive();
const ms = (max: number) => z.int().min(1).max(max);

const prefixSchema = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/,
    'must be "/" or a path like /api/orders (no trailing slash)',
  );

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Stale-if-error at the edge (RFC 5861, as nginx's proxy_cache_use_stale): the
 * last good answer of each cacheable GET is kept and served, marked with Age
 * and Cache-Status, when the upstream fails, times out or its breaker is open.
 */
const staleIfErrorSchema = z
  .strictObject({
    /**
     * How long past its freshness (max-age) an answer may be served on error
     * when the upstream's Cache-Control names no stale-if-error (s).
     */
    defaultSeconds: z.int().min(1).max(86_400).default(300), // 5 min
    /** Answers kept for the route (least recently used go first). */
    maxEntries: z.int().min(1).max(1_000_000).default(1_000),
    /** Body bytes kept for the route in all. */
    maxBytes: z.int().min(1_024).max(1_073_741_824).default(8_388_608), // 8 MiB
    /** A larger answer is forwarded but not kept. */
    maxEntryBytes: z.int().min(1).max(1_073_741_824).default(262_144), // 256 KiB
  })
  .refine((c) => c.maxEntryBytes <= c.maxBytes, {
    path: ['maxEntryBytes'],
    message: 'must not exceed maxBytes',
  });
export type StaleIfErrorConfig = z.output<typeof staleIfErrorSchema>;

const routeSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be kebab-case'),
  /** Path prefix, matched on segment boundaries (/api/orders matches /api/orders and /api/orders/1). */
  path: prefixSchema,
  methods: z.array(z.enum(METHODS)).min(1),
  /**
   * Narrower method sets by position: `exact` for the prefix itself
   * (/api/orders: the collection), `below` for any path under it
   * (/api/orders/{id}). A method of `methods` that this position does not
   * take is answered 405 with this position's Allow, never forwarded.
   */
  methodsAt: z
    .strictObject({
      exact: z.array(z.enum(METHODS)).min(1).optional(),
      below: z.array(z.enum(METHODS)).min(1).optional(),
    })
    .optional(),
  upstream: z.string(),
  /** Leading part of `path` removed before forwarding; omit to keep the whole path. */
  stripPrefix: prefixSchema.optional(),
  /** `required`: a consumer must authenticate; `none`: anonymous (static assets). */
  auth: z.enum(['required', 'none']).default('required'),
  /** When set, only these consumers may use the route (others get 403). */
  allowConsumers: z.array(z.string()).min(1).optional(),
  /**
   * Route overrides of the upstream's per-try timeout and overall deadline (ms),
   * and of which failures are retried (`retry`: maxRetries, statuses,
   * onConnectError, onTimeout — the mesh's per-call override, as Envoy's and
   * Istio's retry policy is per route). Backoff, retry budget and breaker stay
   * the upstream's: the breaker is about the upstream's health (one per
   * upstream, like Envoy/Istio outlier detection), so every route shares one.
   */
  timeoutMs: ms(600_000).optional(),
  deadlineMs: ms(3_600_000).optional(),
  retry: RetryOverrideSchema.optional(),
  /** Serve the last good answer of cacheable GETs when the upstream fails (see staleIfErrorSchema). */
  staleIfError: staleIfErrorSchema.optional(),
  /** Static assets of the frontend: any path under the prefix that is not another route's. */
  fallback: z.boolean().default(false),
});

const jwtCredentialSchema = z.discriminatedUnion('algorithm', [
  z.strictObject({
    /** Matched against the token's `iss` claim, as Kong's jwt plugin does. */
    key: z.string().min(1),
    algorithm: z.literal('HS256'),
    secret: z.string().min(32, 'HS256 secrets must be at least 32 characters'),
  }),
  z.strictObject({
    key: z.string().min(1),
    algorithm: z.enum(['RS256', 'ES256']),
    /** A JWKS file (public keys), relative to gateway.yaml. */
    jwks: z.string().min(1),
    kid: z.string().min(1),
  }),
]);

const consumerSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be kebab-case'),
  apiKeys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).default([]),
  jwt: z.array(jwtCredentialSchema).default([]),
  /** Free text shown by the admin API (e.g. "dev only"). */
  note: z.string().optional(),
});

const limitsSchema = z
  .strictObject({
    second: positiveInt.optional(),
    minute: positiveInt.optional(),
    hour: positiveInt.optional(),
  })
  .refine((l) => WINDOWS.some((w) => l[w] !== undefined), 'set at least one of second, minute, hour')
  .refine(
    (l) =>
      WINDOWS.every((w, i) =>
        WINDOWS.slice(i + 1).every(
          (x) => l[w] === undefined || l[x] === undefined || (l[x] as number) >= (l[w] as number),
        ),
      ),
    'a longer window cannot have a lower limit than a shorter one (Kong refuses it too)',
  );

const rateLimitSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be kebab-case'),
  /** Attach to a route, a consumer, or both; the most specific matching policy applies (Kong's precedence). */
  route: z.string().optional(),
  consumer: z.string().optional(),
  /** `fixed`: clock-aligned windows (Kong OSS). `sliding`: GCRA, no burst beyond the window's quota. */
  window: z.enum(['fixed', 'sliding']).default('fixed'),
  limits: limitsSchema,
  limitBy: z.enum(['consumer', 'ip', 'header', 'path']).default('consumer'),
  /** Header to count by when limitBy is `header`. */
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/)
    .optional(),
  /** Redis unreachable: `fail-open` counts in a local per-instance limiter, `fail-closed` answers 503. */
  onRedisDown: z.enum(['fail-open', 'fail-closed']).default('fail-open'),
  hideClientHeaders: z.boolean().default(false),
});

const gatewaySchema = z
  .strictObject({
    version: z.literal(1),
    proxy: z
      .strictObject({
        /** Largest request body forwarded (bytes). */
        bodyLimitBytes: z.int().min(0).default(1_048_576),
        /** Most request header fields accepted. */
        maxHeaderCount: z.int().min(8).max(1000).default(100),
        /** Largest request head (bytes); Node's own limit. */
        maxHeaderBytes: z.int().min(1024).max(1_048_576).default(16_384),
        /** Trust X-Forwarded-For from this many proxies in front (0: use the socket address). */
        trustedHops: z.int().min(0).max(5).default(0),
      })
      .default({ bodyLimitBytes: 1_048_576, maxHeaderCount: 100, maxHeaderBytes: 16_384, trustedHops: 0 }),
    redis: z
      .strictObject({
        keyPrefix: z.string().default('bw:gw:'),
        /** A decision that takes longer counts as Redis being unreachable (ms). */
        commandTimeoutMs: ms(10_000).default(100),
      })
      .default({ keyPrefix: 'bw:gw:', commandTimeoutMs: 100 }),
    /** Call policy per upstream service, in the mesh's vocabulary (@breakwater/mesh/policy). */
    upstreams: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be kebab-case'), UpstreamPolicySchema),
    routes: z.array(routeSchema).min(1),
    consumers: z.array(consumerSchema).default([]),
    rateLimits: z.array(rateLimitSchema).default([]),
    render: z
      .strictObject({
        /** Kubernetes namespace of the services (http://<name>.<namespace>.svc:80). */
        namespace: z.string().default('breakwater'),
        redisHost: z.string().default('redis.breakwater.svc'),
        redisPort: z.int().min(1).max(65535).default(6379),
        listenPort: z.int().min(1).max(65535).default(8080),
      })
      .default({
        namespace: 'breakwater',
        redisHost: 'redis.breakwater.svc',
        redisPort: 6379,
        listenPort: 8080,
      }),
  })
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const routeNames = new Set<string>();
    cfg.routes.forEach((r, i) => {
      if (routeNames.has(r.name)) issue(['routes', i, 'name'], `duplicate route name "${r.name}"`);
      routeNames.add(r.name);
      if (!(r.upstream in cfg.upstreams))
        issue(['routes', i, 'upstream'], `unknown upstream "${r.upstream}"`);
      const up = cfg.upstreams[r.upstream];
      if (up && r.timeoutMs !== undefined && r.timeoutMs > (r.deadlineMs ?? up.deadlineMs))
        issue(
          ['routes', i, 'timeoutMs'],
          `must not exceed the deadline (${r.deadlineMs ?? up.deadlineMs} ms)`,
        );
      if (r.stripPrefix !== undefined && !isPrefixOf(r.stripPrefix, r.path))
        issue(['routes', i, 'stripPrefix'], `"${r.stripPrefix}" is not a prefix of path "${r.path}"`);
      for (const at of ['exact', 'below'] as const)
        for (const m of r.methodsAt?.[at] ?? [])
          if (!r.methods.includes(m))
            issue(['routes', i, 'methodsAt', at], `${m} is not one of the route's methods`);
      if (r.staleIfError && !r.methods.includes('GET'))
        issue(['routes', i, 'staleIfError'], 'only a route that takes GET keeps answers');
      for (const c of r.allowConsumers ?? [])
        if (!cfg.consumers.some((k) => k.name === c))
          issue(['routes', i, 'allowConsumers'], `unknown consumer "${c}"`);
    });
    const consumerNames = new Set<string>();
    const apiKeys = new Set<string>();
    const jwtKeys = new Set<string>();
    cfg.consumers.forEach((c, i) => {
      if (consumerNames.has(c.name)) issue(['consumers', i, 'name'], `duplicate consumer "${c.name}"`);
      consumerNames.add(c.name);
      c.apiKeys.forEach((k, j) => {
        if (apiKeys.has(k)) issue(['consumers', i, 'apiKeys', j], 'API key used twice');
        apiKeys.add(k);
      });
      c.jwt.forEach((k, j) => {
        if (jwtKeys.has(k.key)) issue(['consumers', i, 'jwt', j, 'key'], `JWT key "${k.key}" used twice`);
        jwtKeys.add(k.key);
      });
    });
    const scopes = new Set<string>();
    cfg.rateLimits.forEach((p, i) => {
      if (p.route === undefined && p.consumer === undefined)
        issue(['rateLimits', i], 'attach the policy to a route, a consumer or both');
      if (p.route !== undefined && !routeNames.has(p.route))
        issue(['rateLimits', i, 'route'], `unknown route "${p.route}"`);
      if (p.consumer !== undefined && !consumerNames.has(p.consumer))
        issue(['rateLimits', i, 'consumer'], `unknown consumer "${p.consumer}"`);
      if (p.limitBy === 'header' && p.header === undefined)
        issue(['rateLimits', i, 'header'], 'required when limitBy is "header"');
      if (p.limitBy !== 'header' && p.header !== undefined)
        issue(['rateLimits', i, 'header'], 'only allowed when limitBy is "header"');
      const scope = `${p.route ?? '*'}|${p.consumer ?? '*'}`;
      if (scopes.has(scope))
        issue(['rateLimits', i], `another policy is already attached to the same route and consumer`);
      scopes.add(scope);
    });
    if (cfg.rateLimits.map((p) => p.name).some((n, i, a) => a.indexOf(n) !== i))
      issue(['rateLimits'], 'policy names must be unique');
  });

export type GatewayConfig = z.output<typeof gatewaySchema>;
export type RouteConfig = GatewayConfig['routes'][number];
export type UpstreamConfig = GatewayConfig['upstreams'][string];
export type ConsumerConfig = GatewayConfig['consumers'][number];
export type JwtCredential = ConsumerConfig['jwt'][number];
export type RateLimitPolicy = GatewayConfig['rateLimits'][number];
export type Limits = RateLimitPolicy['limits'];

/** A loaded config: the validated document plus the directory its relative paths resolve against. */
export interface LoadedConfig {
  readonly config: Readonly<GatewayConfig>;
  readonly baseDir: string;
  readonly file: string;
}

export function isPrefixOf(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}

/** Validates a parsed document; throws ConfigError whose issues each start with the field path. */
export function validateConfig(doc: unknown): GatewayConfig {
  const result = gatewaySchema.safeParse(doc);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`));
  }
  return deepFreeze(result.data);
}

export function parseConfigText(text: string): GatewayConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError([`(yaml): ${(err as Error).message}`]);
  }
  return validateConfig(doc);
}

export function loadConfig(file: string): LoadedConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError([`(file): cannot read ${abs}: ${(err as Error).message}`]);
  }
  return Object.freeze({ config: parseConfigText(text), baseDir: dirname(abs), file: abs });
}

/** Base URL of an upstream: env `<NAME>_URL` (catalog → CATALOG_URL). */
export function upstreamEnvName(name: string): string {
  return `${name.toUpperCase().replaceAll('-', '_')}_URL`;
}

/** Endpoints files of the upstreams that have one: env `<NAME>_ENDPOINTS_FILE` (catalog → CATALOG_ENDPOINTS_FILE). */
export function resolveUpstreamEndpointsFiles(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(config.upstreams)) {
    const file = env[upstreamEnvName(name).replace(/_URL$/, '_ENDPOINTS_FILE')];
    if (file) out[name] = file;
  }
  return out;
}

export function resolveUpstreamUrls(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
): Record<string, URL> {
  const out: Record<string, URL> = {};
  const missing: string[] = [];
  for (const name of Object.keys(config.upstreams)) {
    const v = env[upstreamEnvName(name)];
    if (v === undefined || v === '') {
      missing.push(`${upstreamEnvName(name)}: required (base URL of upstream "${name}")`);
      continue;
    }
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      out[name] = u;
    } catch {
      missing.push(`${upstreamEnvName(name)}: not an http(s) URL: ${v}`);
    }
  }
  if (missing.length > 0) throw new ConfigError(missing);
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
