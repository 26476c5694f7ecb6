/**
 * The gateway's errors: one stable code per condition, each with the HTTP
 * status it answers with. Every error a client sees is an RFC 9457
 * `application/problem+json` body carrying `code` and the request id; the
 * `detail` is written for the client and never says why a signature failed.
 */

export const GW_ERRORS = {
  GW_ERR_NO_ROUTE: { status: 404, title: 'No route matches this request' },
  GW_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  GW_ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  GW_ERR_BAD_PATH: { status: 400, title: 'Request target is not allowed' },
  GW_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  GW_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  GW_ERR_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  GW_ERR_FORBIDDEN: { status: 403, title: 'Forbidden' },
  GW_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  GW_ERR_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limiting unavailable' },
  GW_ERR_UPSTREAM_UNAVAILABLE: { status: 503, title: 'Upstream unavailable' },
  GW_ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  GW_ERR_BAD_GATEWAY: { status: 502, title: 'Bad gateway' },
  GW_ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'Admin token missing or wrong' },
  GW_ERR_ADMIN_BAD_PAYLOAD: { status: 400, title: 'Admin payload invalid' },
  GW_ERR_ADMIN_NOT_FOUND: { status: 404, title: 'Admin resource not found' },
  GW_ERR_CONFIG_INVALID: { status: 500, title: 'gateway.yaml is invalid' },
} as const;

export type GatewayErrorCode = keyof typeof GW_ERRORS;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  /** Extra response headers (Retry-After, WWW-Authenticate, rate-limit fields). */
  readonly headers: Record<string, string>;

  constructor(
    code: GatewayErrorCode,
    detail?: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? GW_ERRORS[code].title, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = GW_ERRORS[code].status;
    this.headers = options.headers ?? {};
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;

/** Raised at start-up (and on reload) when gateway.yaml is invalid; the message names the field. */
export class ConfigError extends Error {
  readonly code = 'GW_ERR_CONFIG_INVALID' as const;
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`gateway.yaml is invalid:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  request_id: string;
}

export function problemOf(err: GatewayError, requestId: string, instance?: string): ProblemBody {
  return {
    type: `https://breakwater.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: GW_ERRORS[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(instance === undefined ? {} : { instance }),
    request_id: requestId,
  };
}
