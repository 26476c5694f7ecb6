/**
 * RFC 9457 problem details. Services throw `new Problem(...)` (or their own
 * error with a numeric `status` and a string `code`), and the server kit
 * answers `application/problem+json` with the request id.
 */
import { MeshError } from './errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemInit {
  /** HTTP status, 400–599. */
  status: number;
  /** Stable code, e.g. `CATALOG_ERR_OUT_OF_STOCK`. */
  code: string;
  /** Short, stable summary; defaults to the code. */
  title?: string;
  /** What happened this time (safe to show a client). */
  detail?: string;
  /** Seconds to answer as Retry-After. */
  retryAfterSec?: number;
  /** Extra members of the problem body. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** A typed problem a handler throws; the error handler renders it. */
export class Problem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly retryAfterSec: number | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(init: ProblemInit) {
    super(
      init.detail ?? init.title ?? init.code,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    if (!Number.isInteger(init.status) || init.status < 400 || init.status > 599) {
      throw new RangeError(`Problem status must be an integer 400–599, got ${init.status}`);
    }
    this.name = 'Problem';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title ?? init.code;
    this.detail = init.detail;
    this.retryAfterSec = init.retryAfterSec;
    this.extensions = init.extensions;
  }
}

/** Shorthand: `throw problem(404, 'CATALOG_ERR_NOT_FOUND', 'no product 42')`. */
export function problem(
  status: number,
  code: string,
  detail?: string,
  extensions?: Record<string, unknown>,
): Problem {
  return new Problem({ status, code, detail, extensions });
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

/** Errors from body-parser (express.json) carry `type` and `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * Renders any thrown value as a problem: Problem, MeshError, body-parser
 * errors, any error with an integer `status` 400–599 and a string `code`;
 * everything else is a 500 whose details stay in the log.
 */
export function renderProblem(err: unknown, requestId?: string, instance?: string): RenderedProblem {
  let status = 500;
  let code = 'MESH_ERR_INTERNAL';
  let title = 'Internal error';
  let detail: string | undefined = 'an unexpected error occurred';
  let retryAfterSec: number | undefined;
  let extensions: Record<string, unknown> | undefined;
  let unexpected = false;

  const bp = err as BodyParserError | null;
  if (err instanceof Problem) {
    ({ status, code, title, detail, retryAfterSec, extensions } = err);
  } else if (err instanceof MeshError) {
    status = err.status;
    code = err.code;
    title = err.title;
    detail = err.message;
    retryAfterSec = err.retryAfterSec;
    extensions = err.extensions;
    if (err.upstream) extensions = { ...extensions, upstream: err.upstream };
    if (err.upstreamStatus) extensions = { ...extensions, upstream_status: err.upstreamStatus };
  } else if (bp && typeof bp.type === 'string' && typeof bp.status === 'number') {
    status = bp.status;
    if (bp.type === 'entity.too.large') {
      code = 'MESH_ERR_BODY_TOO_LARGE';
      title = 'Request body too large';
      detail = (err as Error).message;
    } else if (bp.type === 'entity.parse.failed') {
      code = 'MESH_ERR_BAD_JSON';
      title = 'Malformed JSON body';
      detail = (err as Error).message;
    } else if (status >= 400 && status < 500) {
      code = 'MESH_ERR_VALIDATION';
      title = 'Invalid request';
      detail = (err as Error).message;
    } else {
      unexpected = true;
      status = 500;
    }
  } else if (isCodedHttpError(err)) {
    status = err.status;
    code = err.code;
    title = typeof err.title === 'string' ? err.title : err.code;
    detail = err.message;
    retryAfterSec = typeof err.retryAfterSec === 'number' ? err.retryAfterSec : undefined;
  } else {
    unexpected = true;
  }

  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(retryAfterSec)));
  const body: ProblemBody = {
    ...extensions,
    type: `urn:breakwater:problem:${code}`,
    title,
    status,
    code,
  };
  if (detail !== undefined) body.detail = detail;
  if (instance !== undefined) body.instance = instance;
  if (requestId !== undefined) body.request_id = requestId;
  return { status, headers, body, unexpected };
}

function isCodedHttpError(
  e: unknown,
): e is Error & { status: number; code: string; title?: unknown; retryAfterSec?: unknown } {
  const x = e as { status?: unknown; code?: unknown } | null;
  return (
    e instanceof Error &&
    typeof x?.code === 'string' &&
    typeof x.status === 'number' &&
    Number.isInteger(x.status) &&
    x.status >= 400 &&
    x.status <= 599
  );
}
