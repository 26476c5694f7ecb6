/** The client's public shapes: call options, upstream options and the Upstream interface. */

import type { Readable } from 'node:stream';
import type { WorkloadIdentity } from '../identity/workload-identity.ts';

export type { Disposable };

import type { BreakerState, Disposable } from '../breaker.ts';
import type { Deadline } from '../deadline.ts';
import type { MeshError } from '../errors.ts';
import type { RetryOverride, UpstreamPolicy, UpstreamPolicyInput } from '../policy.ts';
import type { EndpointSource } from './endpoint-source.ts';
import type { MeshResponse, MeshStreamResponse } from './response.ts';

export interface CallOptions {
  /** Default GET. */
  method?: string;
  /** Path (and query) under the upstream's base URL; must start with `/`. */
  path: string;
  /** Route template for metric labels (`/products/:id`); default `other` — never a raw path. */
  route?: string;
  /** Query parameters appended to `path` (undefined values skipped). */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** JSON body (sets content-type). */
  json?: unknown;
  /** Raw body. A Readable is sent once and never retried. */
  body?: string | Buffer | Uint8Array | Readable;
  /** Makes a non-idempotent method retryable; sent as `Idempotency-Key`. */
  idempotencyKey?: string;
  /** The caller's cancellation; ends the call with MESH_ERR_ABORTED. */
  signal?: AbortSignal;
  /** Inherited deadline (e.g. `req.deadline` of the inbound request); the earlier of it and the policy's wins. */
  deadline?: Deadline;
  /** Override the policy's per-try timeout for this call, ms. */
  timeoutMs?: number;
  /** Override the policy's overall deadline for this call, ms. */
  deadlineMs?: number;
  /**
   * Override which failures of this call are retried: `maxRetries`,
   * `statuses` (5xx only), `onConnectError`, `onTimeout`; a field left out is
   * the policy's. Backoff, the retry budget and the breaker stay the
   * upstream's. Validated per call (MESH_ERR_INVALID_REQUEST naming the
   * field) unless frozen: build it once with `parseRetryOverride`.
   */
  retry?: RetryOverride;
  /**
   * When false, an upstream failure status (5xx) left after retries is
   * returned instead of thrown as MESH_ERR_UPSTREAM_STATUS. Default true.
   */
  throwOnStatus?: boolean;
  /** Called instead of throwing when the call fails with a MeshError (not on MESH_ERR_ABORTED). */
  fallback?: Fallback;
  /** Largest buffered response body, bytes; more fails the try with MESH_ERR_RESPONSE_TOO_LARGE. Default: the upstream's. */
  maxResponseBytes?: number;
}

export type Fallback = (err: MeshError) => MeshResponse | Promise<MeshResponse>;

export interface UpstreamOptions {
  /** Upstream name: metric label, breaker name, error field. */
  name: string;
  /**
   * `http://host:port` (a path prefix is kept), or a list of them sharing one
   * path prefix: several endpoints are balanced per try with outlier
   * detection (policy `loadBalancer`, `outlierDetection`). Give this or `endpoints`.
   */
  baseUrl?: string | readonly string[];
  /**
   * A changing set of endpoints (e.g. `watchEndpointsFile`), balanced like a
   * list; the client closes the source on `close()`.
   */
  endpoints?: EndpointSource;
  /** Policy (validated, defaults applied, frozen); a parsed policy is used as is. */
  policy?: UpstreamPolicyInput | UpstreamPolicy;
  /** Fallback for every call that has none of its own. */
  fallback?: Fallback;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Default largest buffered response body, bytes (default 16 MiB). */
  maxResponseBytes?: number;
  /**
   * Certificate presented to `https://` endpoints (mTLS). Default: the
   * process's identity (BW_TLS_DIR unless BW_MTLS=off); null: none.
   */
  identity?: WorkloadIdentity | null;
  /** ServiceAccount whose SPIFFE id the server must present (default `name`). */
  serverIdentity?: string;
}

export interface UpstreamStats {
  state: BreakerState;
  /** When the breaker entered `state`, epoch ms (0 = never left closed). */
  stateSince: number;
  /** How long the breaker stays open the next time it opens, ms (grows on repeated re-opens). */
  openIntervalMs: number;
  inFlight: number;
  queued: number;
  retriesAvailable: number;
  /** Several endpoints only: each with its readiness, ejection and tries in flight. */
  endpoints?: Array<{ origin: string; ready: boolean; ejected: boolean; active: number }>;
}

export interface Upstream {
  readonly name: string;
  readonly policy: UpstreamPolicy;
  /** A buffered call: the body is read within the try. */
  request(options: CallOptions): Promise<MeshResponse>;
  /**
   * A streaming call: retries only until response headers arrive (and never
   * with a Readable request body); 5xx responses are returned, not thrown.
   * The deadline keeps running while the body streams.
   */
  stream(options: CallOptions): Promise<MeshStreamResponse>;
  /** The breaker's state now. */
  readonly state: BreakerState;
  /** Calls `listener` on every breaker transition; dispose to stop. */
  onStateChange(listener: (state: BreakerState) => void): Disposable;
  stats(): UpstreamStats;
  /** Closes the connection pool (in-flight calls finish) and stops the breaker. */
  close(): Promise<void>;
}
