/** The server kit's settings (validated once, frozen) and its public shapes. */
import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from '@breakwater/observability';
import type express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { envPort } from '../env.ts';
import { MeshError } from '../errors.ts';
import type { WorkloadIdentity } from '../identity/workload-identity.ts';
import type { MeshPolicy } from '../policy/schema.ts';
import { formatIssues } from '../policy.ts';
import type { FaultFilter } from './fault-filter.ts';

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
  /**
   * A plain-HTTP listener with /health/live, /health/ready and /metrics only, on the main
   * listener's host; off when absent (default: BW_HEALTH_PORT). For callers that hold no mesh
   * certificate when the main listener is mTLS: the kubelet's probes and Prometheus on a
   * cluster whose identities come from a cluster issuer (Istio's sidecar answers them itself).
   */
  health: z.strictObject({ port: z.number().int().min(0).max(65_535) }).optional(),
  /** Signals that start a graceful shutdown then exit 0 (default SIGTERM, SIGINT); [] for none. */
  signals: z.array(z.enum(['SIGTERM', 'SIGINT', 'SIGHUP'])).default(['SIGTERM', 'SIGINT']),
});

export type ServerSettings = z.output<typeof ServerSettingsSchema>;

/** `health` from BW_HEALTH_PORT (unset: none); MESH_ERR_INVALID_POLICY naming the variable. */
export function healthFromEnv(env: NodeJS.ProcessEnv = process.env): { health?: { port: number } } {
  const v = env.BW_HEALTH_PORT;
  if (v === undefined || v === '') return {};
  const r = envPort.safeParse(v);
  if (!r.success)
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `invalid environment: BW_HEALTH_PORT: must be a port 0-65535, got "${v}"`,
    );
  return { health: { port: r.data } };
}

/** Validates and freezes the settings (MESH_ERR_INVALID_POLICY naming the field). */
export function parseServerSettings(input: unknown): Readonly<ServerSettings> {
  const parsed = ServerSettingsSchema.safeParse(input);
  if (!parsed.success) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `invalid server settings: ${formatIssues('server', parsed.error)}`,
    );
  }
  return Object.freeze(parsed.data);
}

export interface ServiceAppOptions extends z.input<typeof ServerSettingsSchema> {
  /** Adds the service's routes. Routes may also be added to `kit.router` later. */
  routes?: (router: Router, kit: ServiceApp) => void;
  /** Logger (default: one created for `service`). */
  logger?: Logger;
  /** Called with the exit code after a signal-driven shutdown (default `process.exit`). */
  exit?: (code: number) => void;
  /** Random source of the fault filter (tests). */
  random?: () => number;
  /**
   * The workload identity: serve mTLS and authorize callers by mesh/policy.yaml.
   * Default: the process's (BW_TLS_DIR unless BW_MTLS=off); null: plain HTTP.
   */
  identity?: WorkloadIdentity | null;
  /** The policy authorizing callers (default mesh/policy.yaml). */
  policy?: MeshPolicy;
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
  /** The service's routes; mounted before the 404/405 and error handlers. */
  readonly router: Router;
  readonly logger: Logger;
  readonly faults: FaultFilter;
  readonly settings: Readonly<ServerSettings>;
  /** True while no shutdown has started (readiness also needs every check to pass). */
  readonly accepting: boolean;
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** Runs at shutdown after in-flight requests finished, in reverse order of registration. */
  addCloser(name: string, closer: Closer): void;
  listen(
    options?: ListenOptions,
  ): Promise<{ host: string; port: number; adminPort?: number; healthPort?: number }>;
  /** Graceful shutdown (idempotent): readiness false, drain, close listener, wait, closers. */
  shutdown(reason?: string): Promise<void>;
  /** The HTTP (or, with an identity, HTTPS) server once listening. */
  readonly server: http.Server | https.Server | undefined;
}
