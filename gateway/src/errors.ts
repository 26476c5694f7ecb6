/**
 * The gateway's errors: one stable code per condition, each with the HTTP
 * status it answers with. Every error a client sees is an RFC 9457
 * `application/problem+json` body carrying `code` and the request id (the
 * mesh's one renderer); the `detail` is written for the client and never
 * says why a signature failed.
 */
import { createError, errorFamily, type ProblemBody } from '@breakwater/mesh/errors';

export const GatewayError = errorFamily('GatewayError', [
  createError('GW_ERR_NO_ROUTE', 'No route matches this request', 404),
  createError('GW_ERR_METHOD_NOT_ALLOWED', 'Method not allowed on this route', 405),
  createError('GW_ERR_BAD_REQUEST', 'Bad request', 400),
  createError('GW_ERR_BAD_PATH', 'Request target is not allowed', 400),
  createError('GW_ERR_BODY_TOO_LARGE', 'Request body too large', 413),
  createError('GW_ERR_HEADERS_TOO_LARGE', 'Request header fields too large', 431),
  createError('GW_ERR_UNAUTHENTICATED', 'Authentication required', 401),
  createError('GW_ERR_FORBIDDEN', 'Forbidden', 403),
  createError('GW_ERR_RATE_LIMITED', 'Too many requests', 429),
  createError('GW_ERR_RATE_LIMIT_UNAVAILABLE', 'Rate limiting unavailable', 503),
  createError('GW_ERR_UPSTREAM_UNAVAILABLE', 'Upstream unavailable', 503),
  createError('GW_ERR_UPSTREAM_TIMEOUT', 'Upstream timed out', 504),
  createError('GW_ERR_BAD_GATEWAY', 'Bad gateway', 502),
  createError('GW_ERR_ADMIN_UNAUTHORIZED', 'Admin token missing or wrong', 401),
  createError('GW_ERR_ADMIN_BAD_PAYLOAD', 'Admin payload invalid', 400),
  createError('GW_ERR_ADMIN_NOT_FOUND', 'Admin resource not found', 404),
  createError('GW_ERR_CONFIG_INVALID', 'gateway.yaml is invalid', 500),
]);
export type GatewayError = InstanceType<typeof GatewayError>;
export type GatewayErrorCode = GatewayError['code'];
export const GW_ERRORS = GatewayError.errors;
export const isGatewayError = (e: unknown): e is GatewayError => GatewayError.is(e);

/** Raised at start-up (and on reload) when gateway.yaml is invalid; the message names the field. */
export class ConfigError extends GatewayError {
  declare readonly code: 'GW_ERR_CONFIG_INVALID';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('GW_ERR_CONFIG_INVALID', `gateway.yaml is invalid:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export type { ProblemBody };

/** The problem+json body of a gateway error (headers: `err.toProblem(...).headers`). */
export function problemOf(err: GatewayError, requestId: string, instance?: string): ProblemBody {
  return err.toProblem(requestId, instance).body;
}
