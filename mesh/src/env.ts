/**
 * The process environment every service reads (docs/conventions.md),
 * validated once at start-up; the message names the variable.
 *
 * Two ways in: `readServiceEnv()` for a process that needs only the common
 * variables, and the building blocks below (`backendEnvShape`,
 * `consumerEnvShape`, `relayEnvShape`, `parseEnv`, `backendConfig`,
 * `consumerConfig`) from which each backend service's `config.ts` builds its
 * own schema with its prefixed variables (`ORDERS_*`, `PAYMENTS_*`, …).
 */
import { z } from 'zod';
import { MeshError } from './errors.ts';

/** A TCP port, 0–65535 (0: any free port). */
export const envPort = z.coerce.number().int().min(0).max(65_535);

/** `postgres://…` or `postgresql://…` (DATABASE_URL). */
export const envPostgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL');

/** `redis://…` or `rediss://…` (REDIS_URL). */
export const envRedisUrl = z.string().regex(/^rediss?:\/\//, 'a redis:// URL');

/** `http://…` or `https://…` (an upstream's `<NAME>_URL`). */
export const envHttpUrl = z.string().regex(/^https?:\/\//, 'an http:// URL');

/** `true`/`false`/`1`/`0` → boolean. */
export const envBool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const port = envPort;

export const ServiceEnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(0),
  BW_SERVICE: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case service name'),
  BW_ADMIN_PORT: port.optional(),
  BW_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.string().default('info'),
});

export type ServiceEnv = z.output<typeof ServiceEnvSchema>;

/** `VAR: message; VAR: message` — every issue, named by its variable (`(env)` for the whole). */
export function formatEnvError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
}

/**
 * Validates `env` against `schema`; on failure throws what `fail` makes of
 * the message `invalid environment: VAR: message; …` (default: an `Error`).
 * Returns the parsed (not frozen) data.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  fail: (message: string) => Error = (message) => new Error(message),
): z.output<S> {
  const r = schema.safeParse(env);
  if (!r.success) throw fail(`invalid environment: ${formatEnvError(r.error)}`);
  return r.data;
}

/**
 * Reads HOST, PORT, BW_SERVICE, BW_ADMIN_PORT, BW_ADMIN_TOKEN, LOG_LEVEL.
 * BW_ADMIN_PORT without BW_ADMIN_TOKEN is refused. Services validate their
 * own variables (DATABASE_URL, <UPSTREAM>_URL, …) the same way.
 */
export function readServiceEnv(env: NodeJS.ProcessEnv = process.env): Readonly<ServiceEnv> {
  const data = parseEnv(ServiceEnvSchema, env, (msg) => new MeshError('MESH_ERR_INVALID_POLICY', msg));
  if (data.BW_ADMIN_PORT !== undefined && data.BW_ADMIN_TOKEN === undefined) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      'invalid environment: BW_ADMIN_TOKEN: required when BW_ADMIN_PORT is set',
    );
  }
  return Object.freeze(data);
}

/** `{ A: s }` with prefix `P` → `{ P_A: s }`, keys in the same order. */
export type Prefixed<P extends string, T> = { [K in keyof T & string as `${P}_${K}`]: T[K] };

export function prefixed<P extends string, T extends Record<string, z.ZodType>>(
  prefix: P,
  shape: T,
): Prefixed<P, T> {
  return Object.fromEntries(Object.entries(shape).map(([k, v]) => [`${prefix}_${k}`, v])) as Prefixed<P, T>;
}

/**
 * The variables every backend service (services/*) reads: HOST, PORT,
 * BW_SERVICE (defaults: the service's own port and name), BW_ADMIN_PORT,
 * BW_ADMIN_TOKEN, and `<PREFIX>_MIGRATE_ON_START` (default true). Spread it
 * into the service's `z.object({...})`. The connection variables
 * (`DATABASE_URL: envPostgresUrl`, `REDIS_URL: envRedisUrl`, upstreams'
 * `<NAME>_URL: envHttpUrl`) stay in the service's own schema: they are its
 * edges, which tools/render/src/policy/code-edges.ts reads from the service's code.
 */
export function backendEnvShape<P extends string>(o: { prefix: P; service: string; port: number }) {
  return {
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: envPort.default(o.port),
    BW_SERVICE: z.string().min(1).default(o.service),
    BW_ADMIN_PORT: envPort.optional(),
    BW_ADMIN_TOKEN: z.string().min(16).optional(),
    /** Run migrations at start-up. */
    ...prefixed(o.prefix, { MIGRATE_ON_START: envBool.default(true) }),
  };
}

/**
 * The event consumer's variables, `<PREFIX>_`: CLAIM_IDLE_MS (default
 * 10_000), MAX_ATTEMPTS (default `maxAttempts`), CONCURRENCY (default 4),
 * CONSUMER_NAME (default `<hostname>-<pid>`, see consumer.ts).
 */
export function consumerEnvShape<P extends string>(o: { prefix: P; maxAttempts: number }) {
  return prefixed(o.prefix, {
    /** Pending stream entries idle this long are reclaimed by another consumer (XAUTOCLAIM), ms. */
    CLAIM_IDLE_MS: z.coerce.number().int().min(1).default(10_000),
    /** Deliveries before a failing event is dead-lettered. */
    MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(o.maxAttempts),
    /** Events handled at once by this process's consumer. */
    CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** Consumer name in the group (default <hostname>-<pid>). */
    CONSUMER_NAME: z.string().min(1).max(200).optional(),
  });
}

/** The outbox relay's variable: `<PREFIX>_RELAY_POLL_MS`, the poll interval when idle, ms (default 100). */
export function relayEnvShape<P extends string>(prefix: P) {
  return prefixed(prefix, { RELAY_POLL_MS: z.coerce.number().int().min(5).default(100) });
}

/** The common part of every backend service's config: `backendEnvShape`'s variables, DATABASE_URL and REDIS_URL. */
export interface BackendConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly migrateOnStart: boolean;
}

/** The variables `backendConfig` reads, as `backendEnvShape` parses them. */
export type BackendEnv<P extends string> = {
  HOST: string;
  PORT: number;
  BW_SERVICE: string;
  DATABASE_URL: string;
  REDIS_URL: string;
  BW_ADMIN_PORT?: number | undefined;
  BW_ADMIN_TOKEN?: string | undefined;
} & Record<`${P}_MIGRATE_ON_START`, boolean>;

export function backendConfig<P extends string>(prefix: P, e: BackendEnv<P>): BackendConfig {
  return {
    host: e.HOST,
    port: e.PORT,
    service: e.BW_SERVICE,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    migrateOnStart: (e as Record<`${P}_MIGRATE_ON_START`, boolean>)[`${prefix}_MIGRATE_ON_START` as const],
  };
}

/** The event consumer's part of a service config, from `consumerEnvShape`'s variables. */
export interface ConsumerConfig {
  readonly claimIdleMs: number;
  readonly maxAttempts: number;
  readonly consumerName: string | undefined;
  readonly concurrency: number;
}

/** The variables `consumerConfig` reads, as `consumerEnvShape` parses them. */
export type ConsumerEnv<P extends string> = Record<
  `${P}_CLAIM_IDLE_MS` | `${P}_MAX_ATTEMPTS` | `${P}_CONCURRENCY`,
  number
> & { [K in `${P}_CONSUMER_NAME`]?: string | undefined };

export function consumerConfig<P extends string>(prefix: P, e: ConsumerEnv<P>): ConsumerConfig {
  const n = e as Record<`${P}_CLAIM_IDLE_MS` | `${P}_MAX_ATTEMPTS` | `${P}_CONCURRENCY`, number>;
  const name = e as { [K in `${P}_CONSUMER_NAME`]?: string | undefined };
  return {
    claimIdleMs: n[`${prefix}_CLAIM_IDLE_MS` as const],
    maxAttempts: n[`${prefix}_MAX_ATTEMPTS` as const],
    consumerName: name[`${prefix}_CONSUMER_NAME` as const],
    concurrency: n[`${prefix}_CONCURRENCY` as const],
  };
}

/** What `eventService` gives a service whose events a consumer reads (and, with `relay`, an outbox relay publishes). */
export interface EventServiceConfig extends BackendConfig, ConsumerConfig {}

type RelayShape<P extends string> = ReturnType<typeof relayEnvShape<P>>;

/**
 * The common part of a backend service with an event consumer, declared once:
 * `shape`, the variables of backendEnvShape and consumerEnvShape (and
 * relayEnvShape with `relay: true`) to spread into the service's schema, and
 * `config(e)`, the matching part of its config (backendConfig,
 * consumerConfig, and `relayPollMs`).
 */
export function eventService<P extends string, R extends boolean = false>(o: {
  prefix: P;
  service: string;
  port: number;
  maxAttempts: number;
  relay?: R;
}) {
  type Shape = ReturnType<typeof backendEnvShape<P>> &
    ReturnType<typeof consumerEnvShape<P>> &
    (R extends true ? RelayShape<P> : object);
  type Config = EventServiceConfig & (R extends true ? { readonly relayPollMs: number } : object);
  const shape = {
    ...backendEnvShape(o),
    ...consumerEnvShape(o),
    ...(o.relay === true ? relayEnvShape(o.prefix) : {}),
  } as Shape;
  const config = (e: BackendEnv<P> & ConsumerEnv<P>): Config => {
    const relay = (e as Record<string, unknown>)[`${o.prefix}_RELAY_POLL_MS`];
    return {
      ...backendConfig(o.prefix, e),
      ...consumerConfig(o.prefix, e),
      ...(o.relay === true ? { relayPollMs: relay as number } : {}),
    } as Config;
  };
  return { shape, config };
}
