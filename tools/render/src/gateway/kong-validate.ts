/**
 * A strict check of a Kong declarative file (_format_version "3.0") for the
 * entities and plugins Breakwater renders. Kong's own `deck file validate`
 * is the real thing, but its Go module cannot be fetched here (the Go module
 * proxy answers 403 for github.com/kong/deck), and Kong publishes no JSON
 * schema package; so this mirrors Kong 3.x's entity and plugin schemas
 * (kong/db/schema/entities/{services,routes,consumers}.lua,
 * kong/plugins/{rate-limiting,key-auth,jwt,acl,proxy-cache,request-termination}/schema.lua
 * and daos.lua) field by field: unknown fields refused, types, enums, ranges,
 * cross-references (a plugin's route/consumer must exist) and Kong's own
 * entity checks (at least one period, periods ordered, header_name with
 * limit_by header, secrets for the algorithm).
 */
import { z } from 'zod';

const name = z.string().regex(/^[\w.~-]+$/, "Kong names allow letters, digits, '.', '-', '_', '~'");
const timeout = z
  .int()
  .min(1)
  .max(2 ** 31 - 2);
const tags = z.array(z.string().regex(/^[^,\s]+$/)).optional();
const protocols = z.array(
  z.enum(['http', 'https', 'grpc', 'grpcs', 'tcp', 'tls', 'udp', 'ws', 'wss', 'tls_passthrough']),
);
const HTTP_METHODS = [
  'GET',
  'HEAD',
  'PUT',
  'PATCH',
  'POST',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const;

const rateLimiting = z
  .strictObject({
    second: z.number().gt(0).optional(),
    minute: z.number().gt(0).optional(),
    hour: z.number().gt(0).optional(),
    day: z.number().gt(0).optional(),
    month: z.number().gt(0).optional(),
    year: z.number().gt(0).optional(),
    limit_by: z
      .enum(['consumer', 'credential', 'ip', 'service', 'header', 'path', 'consumer-group'])
      .optional(),
    header_name: z.string().optional(),
    path: z.string().startsWith('/').optional(),
    policy: z.enum(['local', 'cluster', 'redis']).optional(),
    fault_tolerant: z.boolean().optional(),
    redis: z
      .strictObject({
        host: z.string().min(1),
        port: z.int().min(0).max(65535),
        timeout: timeout.optional(),
        connect_timeout: timeout.optional(),
        send_timeout: timeout.optional(),
        read_timeout: timeout.optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        database: z.int().min(0).optional(),
        ssl: z.boolean().optional(),
        ssl_verify: z.boolean().optional(),
        server_name: z.string().optional(),
      })
      .optional(),
    hide_client_headers: z.boolean().optional(),
    error_code: z.number().min(0).optional(),
    error_message: z.string().optional(),
    sync_rate: z.number().optional(),
  })
  .superRefine((c, ctx) => {
    const periods = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
    if (!periods.some((p) => c[p] !== undefined))
      ctx.addIssue({ code: 'custom', message: 'at least one of second…year is required' });
    periods.forEach((p, i) => {
      for (const q of periods.slice(i + 1)) {
        const a = c[p];
        const b = c[q];
        if (a !== undefined && b !== undefined && b < a)
          ctx.addIssue({
            code: 'custom',
            path: [q],
            message: `The limit for ${q} cannot be lower than the limit for ${p}`,
          });
      }
    });
    if (c.limit_by === 'header' && !c.header_name)
      ctx.addIssue({ code: 'custom', path: ['header_name'], message: 'required when limit_by is header' });
    if (c.limit_by === 'path' && !c.path)
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'required when limit_by is path' });
    if (c.policy === 'redis' && !c.redis?.host)
      ctx.addIssue({ code: 'custom', path: ['redis', 'host'], message: 'required when policy is redis' });
  });

const PLUGIN_CONFIGS: Record<string, z.ZodType> = {
  'rate-limiting': rateLimiting,
  'key-auth': z.strictObject({
    key_names: z
      .array(z.string().regex(/^[A-Za-z0-9_-]+$/))
      .min(1)
      .optional(),
    hide_credentials: z.boolean().optional(),
    anonymous: z.string().optional(),
    key_in_header: z.boolean().optional(),
    key_in_query: z.boolean().optional(),
    key_in_body: z.boolean().optional(),
    run_on_preflight: z.boolean().optional(),
    realm: z.string().optional(),
  }),
  jwt: z.strictObject({
    uri_param_names: z.array(z.string()).optional(),
    cookie_names: z.array(z.string()).optional(),
    header_names: z.array(z.string()).optional(),
    key_claim_name: z.string().optional(),
    secret_is_base64: z.boolean().optional(),
    claims_to_verify: z.array(z.enum(['exp', 'nbf'])).optional(),
    anonymous: z.string().optional(),
    run_on_preflight: z.boolean().optional(),
    maximum_expiration: z.number().min(0).max(31536000).optional(),
    realm: z.string().optional(),
  }),
  acl: z
    .strictObject({
      allow: z.array(z.string()).optional(),
      deny: z.array(z.string()).optional(),
      hide_groups_header: z.boolean().optional(),
      include_consumer_groups: z.boolean().optional(),
      always_use_authenticated_groups: z.boolean().optional(),
    })
    .refine((c) => (c.allow === undefined) !== (c.deny === undefined), 'exactly one of allow, deny'),
  // kong/plugins/proxy-cache/schema.lua (Kong 3.x)
  'proxy-cache': z.strictObject({
    response_code: z.array(z.int().min(100).max(900)).min(1).optional(),
    request_method: z
      .array(z.enum(['HEAD', 'GET', 'POST', 'PATCH', 'PUT']))
      .min(1)
      .optional(),
    content_type: z.array(z.string()).min(1).optional(),
    cache_ttl: z.int().positive().optional(),
    strategy: z.enum(['memory']),
    cache_control: z.boolean().optional(),
    ignore_uri_case: z.boolean().optional(),
    storage_ttl: z.int().optional(),
    memory: z.strictObject({ dictionary_name: z.string().min(1).optional() }).optional(),
    vary_query_params: z.array(z.string()).optional(),
    vary_headers: z.array(z.string()).optional(),
    response_headers: z
      .strictObject({
        age: z.boolean().optional(),
        'X-Cache-Status': z.boolean().optional(),
        'X-Cache-Key': z.boolean().optional(),
      })
      .optional(),
  }),
  'request-termination': z.strictObject({
    status_code: z.int().min(100).max(599).optional(),
    message: z.string().optional(),
    content_type: z.string().optional(),
    body: z.string().optional(),
    trigger: z.string().optional(),
    echo: z.boolean().optional(),
  }),
};

const plugin = z
  .strictObject({
    name: z.string(),
    instance_name: z.string().optional(),
    enabled: z.boolean().optional(),
    protocols: protocols.optional(),
    route: z.string().optional(),
    service: z.string().optional(),
    consumer: z.string().optional(),
    tags,
    config: z.unknown(),
  })
  .superRefine((p, ctx) => {
    const schema = PLUGIN_CONFIGS[p.name];
    if (!schema) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `plugin ${p.name} is not one Breakwater renders`,
      });
      return;
    }
    const r = schema.safeParse(p.config ?? {});
    if (!r.success)
      for (const i of r.error.issues) ctx.addIssue({ ...i, path: ['config', ...i.path] } as never);
  });

const route = z.strictObject({
  name,
  paths: z.array(z.string().startsWith('/')).min(1),
  methods: z.array(z.enum(HTTP_METHODS)).optional(),
  hosts: z.array(z.string()).optional(),
  headers: z.record(z.string(), z.array(z.string())).optional(),
  strip_path: z.boolean().optional(),
  preserve_host: z.boolean().optional(),
  regex_priority: z.int().optional(),
  path_handling: z.enum(['v0', 'v1']).optional(),
  https_redirect_status_code: z
    .union([z.literal(426), z.literal(301), z.literal(302), z.literal(307), z.literal(308)])
    .optional(),
  request_buffering: z.boolean().optional(),
  response_buffering: z.boolean().optional(),
  protocols: protocols.optional(),
  tags,
  plugins: z.array(plugin).optional(),
});

const service = z.strictObject({
  name,
  url: z.url({ protocol: /^(http|https|grpc|grpcs|tcp|tls|udp|ws|wss)$/ }).optional(),
  protocol: z.string().optional(),
  host: z.string().optional(),
  port: z.int().min(0).max(65535).optional(),
  path: z.string().startsWith('/').optional(),
  retries: z.int().min(0).max(32767).optional(),
  connect_timeout: timeout.optional(),
  read_timeout: timeout.optional(),
  write_timeout: timeout.optional(),
  enabled: z.boolean().optional(),
  tags,
  routes: z.array(route).optional(),
  plugins: z.array(plugin).optional(),
});

const jwtSecret = z
  .strictObject({
    key: z.string().min(1),
    algorithm: z.enum([
      'HS256',
      'HS384',
      'HS512',
      'RS256',
      'RS384',
      'RS512',
      'ES256',
      'ES384',
      'ES512',
      'PS256',
      'PS384',
      'PS512',
      'EdDSA',
    ]),
    secret: z.string().optional(),
    rsa_public_key: z.string().optional(),
    tags,
  })
  .superRefine((s, ctx) => {
    if (s.algorithm.startsWith('HS') && !s.secret)
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required for HS algorithms' });
    if (
      !s.algorithm.startsWith('HS') &&
      !/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/.test(s.rsa_public_key ?? '')
    )
      ctx.addIssue({
        code: 'custom',
        path: ['rsa_public_key'],
        message: 'a PEM public key is required for asymmetric algorithms',
      });
  });

const consumer = z.strictObject({
  username: z.string().min(1),
  custom_id: z.string().optional(),
  tags,
  keyauth_credentials: z
    .array(z.strictObject({ key: z.string().min(1), tags, ttl: z.int().optional() }))
    .optional(),
  jwt_secrets: z.array(jwtSecret).optional(),
  acls: z.array(z.strictObject({ group: z.string().min(1), tags })).optional(),
  plugins: z.array(plugin).optional(),
});

const kongFile = z
  .strictObject({
    _format_version: z.literal('3.0'),
    _transform: z.boolean().optional(),
    services: z.array(service).optional(),
    consumers: z.array(consumer).optional(),
    plugins: z.array(plugin).optional(),
  })
  .superRefine((doc, ctx) => {
    const routes = new Set<string>();
    const services = new Set<string>();
    for (const s of doc.services ?? []) {
      if (services.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['services'], message: `duplicate service ${s.name}` });
      services.add(s.name);
      for (const r of s.routes ?? []) {
        if (routes.has(r.name))
          ctx.addIssue({ code: 'custom', path: ['services'], message: `duplicate route ${r.name}` });
        routes.add(r.name);
      }
    }
    const consumers = new Set((doc.consumers ?? []).map((c) => c.username));
    const keys = new Set<string>();
    for (const c of doc.consumers ?? [])
      for (const k of [...(c.keyauth_credentials ?? []), ...(c.jwt_secrets ?? [])]) {
        if (keys.has(k.key))
          ctx.addIssue({
            code: 'custom',
            path: ['consumers'],
            message: `credential key used twice: ${k.key}`,
          });
        keys.add(k.key);
      }
    const refs = (
      p: { route?: string | undefined; consumer?: string | undefined; name: string },
      where: string,
    ) => {
      if (p.route !== undefined && !routes.has(p.route))
        ctx.addIssue({
          code: 'custom',
          path: [where],
          message: `plugin ${p.name} references unknown route ${p.route}`,
        });
      if (p.consumer !== undefined && !consumers.has(p.consumer))
        ctx.addIssue({
          code: 'custom',
          path: [where],
          message: `plugin ${p.name} references unknown consumer ${p.consumer}`,
        });
    };
    for (const p of doc.plugins ?? []) refs(p, 'plugins');
    for (const s of doc.services ?? [])
      for (const r of s.routes ?? [])
        for (const p of r.plugins ?? [])
          if (
            typeof (p.config as { anonymous?: string })?.anonymous === 'string' &&
            !consumers.has((p.config as { anonymous: string }).anonymous)
          )
            ctx.addIssue({
              code: 'custom',
              path: ['services'],
              message: `route ${r.name}: anonymous consumer not defined`,
            });
  });

/** Every problem found in a Kong declarative file; empty when valid. */
export function validateKongFile(doc: unknown): string[] {
  const r = kongFile.safeParse(doc);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}
