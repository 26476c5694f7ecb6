/**
 * The one problem+json renderer (RFC 9457): any thrown value becomes the
 * answer a client sees. Coded errors (every workspace's `errorFamily`, the
 * mesh's MeshError, `Problem`) render themselves (`toProblem`); body-parser
 * errors and any Error with an integer `status` 400–599 and a string `code`
 * are wrapped first; everything else is a 500 whose details stay in the log.
 */
import {
  CodedError,
  createError,
  MeshError,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  type RenderedProblem,
} from './errors.ts';

export { PROBLEM_CONTENT_TYPE, type ProblemBody, type RenderedProblem };

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

/** An ad-hoc problem a handler throws, for a code no errors.ts declares. */
export class Problem extends CodedError<string> {
  constructor(init: ProblemInit) {
    if (!Number.isInteger(init.status) || init.status < 400 || init.status > 599) {
      throw new RangeError(`Problem status must be an integer 400–599, got ${init.status}`);
    }
    super(createError(init.code, init.title ?? init.code, init.status), init.detail, init);
    this.name = 'Problem';
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

/** Errors from body-parser (express.json) carry `type` and `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
}

/** Renders any thrown value as a problem (see the file header). */
export function renderProblem(err: unknown, requestId?: string, instance?: string): RenderedProblem {
  const coded = asCodedError(err);
  if (coded) return coded.toProblem(requestId, instance);
  const internal = new MeshError('MESH_ERR_INTERNAL', 'an unexpected error occurred');
  return { ...internal.toProblem(requestId, instance), unexpected: true };
}

function asCodedError(err: unknown): CodedError | undefined {
  if (err instanceof CodedError) return err;
  const bp = err as BodyParserError | null;
  if (bp && typeof bp.type === 'string' && typeof bp.status === 'number') {
    const message = (err as Error).message;
    if (bp.type === 'entity.too.large') return new MeshError('MESH_ERR_BODY_TOO_LARGE', message);
    if (bp.type === 'entity.parse.failed') return new MeshError('MESH_ERR_BAD_JSON', message);
    if (bp.status >= 400 && bp.status < 500) {
      return new MeshError('MESH_ERR_VALIDATION', message, { status: bp.status });
    }
    return undefined;
  }
  if (isCodedHttpError(err)) {
    const title = typeof err.title === 'string' ? err.title : err.code;
    const retryAfterSec = typeof err.retryAfterSec === 'number' ? err.retryAfterSec : undefined;
    return new CodedError(createError(err.code, title, err.status), err.message, { retryAfterSec });
  }
  return undefined;
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
