/**
 * Every error the mesh raises, each with a stable code, the HTTP status a
 * service should answer when the error reaches its edge, and a cause.
 *
 * | code | status | raised when |
 * |---|---|---|
 * | MESH_ERR_TIMEOUT | 504 | the last try was cut by the per-try timeout |
 * | MESH_ERR_DEADLINE | 504 | the overall deadline (all tries and backoffs) ran out |
 * | MESH_ERR_BREAKER_OPEN | 503 + Retry-After | the upstream's circuit breaker is open (or half-open and busy) |
 * | MESH_ERR_BULKHEAD_FULL | 503 + Retry-After | the upstream's concurrency cap and wait queue are full |
 * | MESH_ERR_BUDGET_EXHAUSTED | 503 | a retry was due but the retry budget was spent; `cause` is the original error |
 * | MESH_ERR_UPSTREAM_STATUS | 502 | the upstream answered a failure status (5xx) and no retry was left |
 * | MESH_ERR_CONNECT | 502 | connection refused/reset, socket or protocol error |
 * | MESH_ERR_RESPONSE_TOO_LARGE | 502 | a buffered response body exceeded `maxResponseBytes` |
 * | MESH_ERR_ABORTED | 499 | the caller's own AbortSignal ended the call |
 * | MESH_ERR_CLOSED | 503 | the upstream client was closed |
 * | MESH_ERR_INVALID_POLICY | 500 | a policy failed validation at start-up |
 * | MESH_ERR_INVALID_REQUEST | 500 | request options were invalid (a programming error) |
 * | MESH_ERR_DEADLINE_EXPIRED | 504 | (server) the inbound request's deadline had passed on arrival or ran out in the handler |
 * | MESH_ERR_BAD_JSON | 400 | (server) the request body is not valid JSON |
 * | MESH_ERR_BODY_TOO_LARGE | 413 | (server) the request body exceeds the limit |
 * | MESH_ERR_NOT_FOUND | 404 | (server) no route matched |
 * | MESH_ERR_VALIDATION | 400 | (server) input failed validation |
 * | MESH_ERR_UNAUTHORIZED | 401 | (server) admin endpoint: missing or wrong bearer token |
 * | MESH_ERR_FAULT_INJECTED | policy | (server) the fault filter aborted the request |
 * | MESH_ERR_INTERNAL | 500 | (server) an unexpected error (details logged, not answered) |
 */

export const MESH_ERRORS = {
  MESH_ERR_TIMEOUT: { status: 504, title: 'Upstream try timed out' },
  MESH_ERR_DEADLINE: { status: 504, title: 'Deadline exceeded' },
  MESH_ERR_BREAKER_OPEN: { status: 503, title: 'Circuit breaker open' },
  MESH_ERR_BULKHEAD_FULL: { status: 503, title: 'Too many concurrent calls to upstream' },
  MESH_ERR_BUDGET_EXHAUSTED: { status: 503, title: 'Retry budget exhausted' },
  MESH_ERR_UPSTREAM_STATUS: { status: 502, title: 'Upstream failed' },
  MESH_ERR_CONNECT: { status: 502, title: 'Upstream unreachable' },
  MESH_ERR_RESPONSE_TOO_LARGE: { status: 502, title: 'Upstream response too large' },
  MESH_ERR_ABORTED: { status: 499, title: 'Call aborted by caller' },
  MESH_ERR_CLOSED: { status: 503, title: 'Upstream client closed' },
  MESH_ERR_INVALID_POLICY: { status: 500, title: 'Invalid policy' },
  MESH_ERR_INVALID_REQUEST: { status: 500, title: 'Invalid request options' },
  MESH_ERR_DEADLINE_EXPIRED: { status: 504, title: 'Deadline expired' },
  MESH_ERR_BAD_JSON: { status: 400, title: 'Malformed JSON body' },
  MESH_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  MESH_ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  MESH_ERR_VALIDATION: { status: 400, title: 'Invalid request' },
  MESH_ERR_UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  MESH_ERR_FAULT_INJECTED: { status: 503, title: 'Fault injected' },
  MESH_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type MeshErrorCode = keyof typeof MESH_ERRORS;

export interface MeshErrorOptions {
  /** Override the code's default HTTP status (fault aborts carry their own). */
  status?: number;
  cause?: unknown;
  /** Seconds a client should wait before trying again (answered as Retry-After). */
  retryAfterSec?: number;
  /** The upstream involved, when there is one. */
  upstream?: string;
  /** The upstream's HTTP status, for MESH_ERR_UPSTREAM_STATUS. */
  upstreamStatus?: number;
  /** Extra members for the problem+json body. */
  extensions?: Record<string, unknown>;
}

/** The one error class of the mesh; check `code`, never the message. */
export class MeshError extends Error {
  readonly code: MeshErrorCode;
  /** The HTTP status a service should answer when this error reaches its edge. */
  readonly status: number;
  readonly retryAfterSec: number | undefined;
  readonly upstream: string | undefined;
  readonly upstreamStatus: number | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(code: MeshErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.status = options.status ?? MESH_ERRORS[code].status;
    this.retryAfterSec = options.retryAfterSec;
    this.upstream = options.upstream;
    this.upstreamStatus = options.upstreamStatus;
    this.extensions = options.extensions;
  }

  /** The short, stable title for problem+json. */
  get title(): string {
    return MESH_ERRORS[this.code].title;
  }
}

/** Type guard: `err` is a MeshError (optionally with the given code). */
export function isMeshError(err: unknown, code?: MeshErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}
