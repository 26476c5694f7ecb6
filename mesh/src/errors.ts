/**
 * The one error factory of every workspace, in the manner of fastify's
 * `createError(code, message, statusCode)`: a workspace's errors.ts is a list
 * of `createError(code, title, status)` calls gathered by `errorFamily(name,
 * [...])` into one Error subclass, so every error has a stable `code`, the
 * HTTP `status` to answer, a `cause`, and one RFC 9457 rendering
 * (`toProblem`) — the same for the mesh, the gateway, the local deployment
 * and every service.
 *
 *   export const CatalogError = errorFamily('CatalogError', [
 *     createError('CATALOG_ERR_NOT_FOUND', 'No such resource', 404),
 *   ]);
 *   throw new CatalogError('CATALOG_ERR_NOT_FOUND', `no product ${id}`);
 *
 * The mesh's own codes:
 *
 * | code | status | raised when |
 * |---|---|---|
 * | MESH_ERR_TIMEOUT | 504 | the last try was cut by the per-try timeout |
 * | MESH_ERR_DEADLINE | 504 | the overall deadline (all tries and backoffs) ran out |
 * | MESH_ERR_BREAKER_OPEN | 503 + Retry-After | the upstream's circuit breaker is open (or half-open and busy) |
 * | MESH_ERR_BULKHEAD_FULL | 503 + Retry-After | the upstream's concurrency cap and wait queue are full |
 * | MESH_ERR_BUDGET_EXHAUSTED | 503 | a retry was due but the retry budget was spent; `cause` is the original error |
 * | MESH_ERR_UPSTREAM_STATUS | 502 | the upstream answered a failure status (5xx) and no retry was left |
 * | MESH_ERR_CONNECT | 503 + Retry-After | connection refused/reset, socket or protocol error (Envoy's "upstream connect error or disconnect/reset" is a 503 too) |
 * | MESH_ERR_RESPONSE_TOO_LARGE | 502 | a buffered response body exceeded `maxResponseBytes` |
 * | MESH_ERR_ABORTED | 499 | the caller's own AbortSignal ended the call |
 * | MESH_ERR_CLOSED | 503 | the upstream client was closed |
 * | MESH_ERR_INVALID_POLICY | 500 | a policy failed validation at start-up |
 * | MESH_ERR_INVALID_REQUEST | 500 | request options were invalid (a programming error) |
 * | MESH_ERR_DEADLINE_EXPIRED | 504 | (server) the inbound request's deadline had passed on arrival or ran out in the handler |
 * | MESH_ERR_BAD_JSON | 400 | (server) the request body is not valid JSON |
 * | MESH_ERR_BODY_TOO_LARGE | 413 | (server) the request body exceeds the limit |
 * | MESH_ERR_NOT_FOUND | 404 | (server) no route matched |
 * | MESH_ERR_METHOD_NOT_ALLOWED | 405 + Allow | (server) a route serves this path, but not with this method |
 * | MESH_ERR_VALIDATION | 400 | (server) input failed validation |
 * | MESH_ERR_UNAUTHORIZED | 401 | (server) admin endpoint: missing or wrong bearer token |
 * | MESH_ERR_FORBIDDEN | 403 | (server, mTLS) the caller's SPIFFE id may not call this route: mesh/policy.yaml has no such edge |
 * | MESH_ERR_IDENTITY | 500 | the workload's certificate files are missing, unreadable or do not match (start-up) |
 * | MESH_ERR_FAULT_INJECTED | policy | (server) the fault filter aborted the request |
 * | MESH_ERR_INTERNAL | 500 | (server) an unexpected error (details logged, not answered) |
 */
import type { z } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One error condition: a stable code, a short stable title, the HTTP status it answers. */
export interface ErrorSpec<C extends string = string> {
  readonly code: C;
  readonly title: string;
  readonly status: number;
}

/** Declares one error condition. Throws RangeError on a status outside 400–599 or an empty code. */
export function createError<const C extends string>(code: C, title: string, status: number): ErrorSpec<C> {
  if (typeof code !== 'string' || code.length === 0)
    throw new RangeError('error code must be a non-empty string');
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`status of ${code} must be an integer 400–599, got ${status}`);
  }
  return Object.freeze({ code, title, status });
}

export interface CodedErrorOptions {
  /** Override the code's status (a fault abort carries its own). */
  status?: number;
  cause?: unknown;
  /** Seconds a client should wait before trying again (answered as Retry-After). */
  retryAfterSec?: number;
  /** Extra response headers (Allow, WWW-Authenticate, rate-limit fields). */
  headers?: Record<string, string>;
  /** Extra members of the problem body. */
  extensions?: Record<string, unknown>;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  request_id?: string;
  [k: string]: unknown;
}

export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: ProblemBody;
  /** True when the error was not a known problem (log it at error level). */
  unexpected: boolean;
}

/** The base of every coded error; check `code`, never the message. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  /** The HTTP status a service answers when this error reaches its edge. */
  readonly status: number;
  /** Short, stable summary of the condition. */
  readonly title: string;
  /** What happened this time (safe to show a client); undefined = no `detail` member. */
  readonly detail: string | undefined;
  readonly retryAfterSec: number | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(spec: ErrorSpec<C>, detail?: string, options: CodedErrorOptions = {}) {
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = spec.code;
    this.status = options.status ?? spec.status;
    this.title = spec.title;
    this.detail = detail;
    this.retryAfterSec = options.retryAfterSec;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions;
  }

  /** Extra members of the problem body (subclasses add theirs). */
  protected problemExtensions(): Record<string, unknown> | undefined {
    return this.extensions;
  }

  /** The RFC 9457 answer: status, headers (the error's own, content type, Retry-After) and body. */
  toProblem(requestId?: string, instance?: string): RenderedProblem {
    const headers: Record<string, string> = { ...this.headers, 'content-type': PROBLEM_CONTENT_TYPE };
    if (this.retryAfterSec !== undefined) {
      headers['retry-after'] = String(Math.max(0, Math.ceil(this.retryAfterSec)));
    }
    const body: ProblemBody = {
      ...this.problemExtensions(),
      type: `urn:breakwater:problem:${this.code}`,
      title: this.title,
      status: this.status,
      code: this.code,
    };
    if (this.detail !== undefined) body.detail = this.detail;
    if (instance !== undefined) body.instance = instance;
    if (requestId !== undefined) body.request_id = requestId;
    return { status: this.status, headers, body, unexpected: false };
  }
}

/** An Error subclass for one workspace's codes, made by `errorFamily`. */
export interface ErrorFamily<C extends string> {
  new (code: C, detail?: string, options?: CodedErrorOptions): CodedError<C>;
  /** The family's conditions by code. */
  readonly errors: { readonly [K in C]: ErrorSpec<K> };
  /** Type guard: `err` is of this family (and has `code`, when given). */
  is(err: unknown, code?: C): err is CodedError<C>;
}

/**
 * Gathers `createError` conditions into one Error subclass named `name`:
 * `new Family(code, detail?, options?)`. Without a detail the title is the
 * message and the problem's `detail`.
 */
export function errorFamily<const S extends readonly ErrorSpec[]>(
  name: string,
  specs: S,
): ErrorFamily<S[number]['code']> {
  type C = S[number]['code'];
  const table = Object.freeze(Object.fromEntries(specs.map((s) => [s.code, s]))) as {
    readonly [K in C]: ErrorSpec<K>;
  };
  class Family extends CodedError<C> {
    static readonly errors = table;
    constructor(code: C, detail?: string, options?: CodedErrorOptions) {
      const spec = table[code] as ErrorSpec<C> | undefined;
      if (!spec) throw new RangeError(`${name}: unknown error code ${String(code)}`);
      super(spec, detail ?? spec.title, options);
      this.name = name;
    }
    static is(err: unknown, code?: C): err is CodedError<C> {
      return err instanceof Family && (code === undefined || err.code === code);
    }
  }
  Object.defineProperty(Family, 'name', { value: name });
  return Family;
}

const MESH_ERROR_SPECS = [
  createError('MESH_ERR_TIMEOUT', 'Upstream try timed out', 504),
  createError('MESH_ERR_DEADLINE', 'Deadline exceeded', 504),
  createError('MESH_ERR_BREAKER_OPEN', 'Circuit breaker open', 503),
  createError('MESH_ERR_BULKHEAD_FULL', 'Too many concurrent calls to upstream', 503),
  createError('MESH_ERR_BUDGET_EXHAUSTED', 'Retry budget exhausted', 503),
  createError('MESH_ERR_UPSTREAM_STATUS', 'Upstream failed', 502),
  createError('MESH_ERR_CONNECT', 'Upstream unreachable', 503),
  createError('MESH_ERR_RESPONSE_TOO_LARGE', 'Upstream response too large', 502),
  createError('MESH_ERR_ABORTED', 'Call aborted by caller', 499),
  createError('MESH_ERR_CLOSED', 'Upstream client closed', 503),
  createError('MESH_ERR_INVALID_POLICY', 'Invalid policy', 500),
  createError('MESH_ERR_INVALID_REQUEST', 'Invalid request options', 500),
  createError('MESH_ERR_DEADLINE_EXPIRED', 'Deadline expired', 504),
  createError('MESH_ERR_BAD_JSON', 'Malformed JSON body', 400),
  createError('MESH_ERR_BODY_TOO_LARGE', 'Request body too large', 413),
  createError('MESH_ERR_NOT_FOUND', 'Not found', 404),
  createError('MESH_ERR_METHOD_NOT_ALLOWED', 'Method not allowed', 405),
  createError('MESH_ERR_VALIDATION', 'Invalid request', 400),
  createError('MESH_ERR_UNAUTHORIZED', 'Unauthorized', 401),
  createError('MESH_ERR_FORBIDDEN', 'Forbidden by mesh policy', 403),
  createError('MESH_ERR_IDENTITY', 'Workload identity unavailable', 500),
  createError('MESH_ERR_FAULT_INJECTED', 'Fault injected', 503),
  createError('MESH_ERR_INTERNAL', 'Internal error', 500),
] as const;

export type MeshErrorCode = (typeof MESH_ERROR_SPECS)[number]['code'];

export interface MeshErrorOptions extends CodedErrorOptions {
  /** The upstream involved, when there is one. */
  upstream?: string;
  /** The upstream's HTTP status, for MESH_ERR_UPSTREAM_STATUS. */
  upstreamStatus?: number;
}

/** The one error class of the mesh; check `code`, never the message. */
export class MeshError extends errorFamily('MeshError', MESH_ERROR_SPECS) {
  declare readonly code: MeshErrorCode;
  readonly upstream: string | undefined;
  readonly upstreamStatus: number | undefined;

  constructor(code: MeshErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(code, message, options);
    this.name = 'MeshError';
    this.upstream = options.upstream;
    this.upstreamStatus = options.upstreamStatus;
  }

  protected override problemExtensions(): Record<string, unknown> | undefined {
    let ext = this.extensions;
    if (this.upstream) ext = { ...ext, upstream: this.upstream };
    if (this.upstreamStatus) ext = { ...ext, upstream_status: this.upstreamStatus };
    return ext;
  }
}

/** Every mesh code with its status and title. */
export const MESH_ERRORS = MeshError.errors;

/** Type guard: `err` is a MeshError (optionally with the given code). */
export function isMeshError(err: unknown, code?: MeshErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}

/** One failing field of a request, as a 400 problem lists it in its `errors` extension. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * Parses a request part (`what`: 'body', 'query', …) with `schema`; on
 * failure throws what `invalid` makes of the message, which names the first
 * failing field (`body: items.0.quantity: …`), and of the failing fields (at
 * most 10) — each service's 400 error with them as its `errors` extension.
 */
export function parseRequest<T>(
  schema: z.ZodType<T>,
  value: unknown,
  what: string,
  invalid: (message: string, errors: FieldIssue[]) => Error,
): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = errors[0];
  throw invalid(`${what}: ${first ? `${first.path || '(root)'}: ${first.message}` : 'invalid'}`, errors);
}
