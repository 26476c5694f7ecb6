/**
 * The public API as the page calls it: same origin by default, the consumer's
 * API key from /config.json, RFC 9457 problem+json errors turned into
 * ApiError with the problem's title, Retry-After read on 429 and 503.
 */
import { parseRetryAfter } from './backoff.js';

const FALLBACK_TITLES = {
  0: 'The shop could not be reached',
  408: 'The request timed out',
  429: 'Too many requests',
  500: 'Something went wrong',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

export class ApiError extends Error {
  /**
   * @param {object} init
   * @param {number} init.status HTTP status, 0 for network errors and timeouts
   * @param {string} init.title what to show the shopper (the problem's title)
   * @param {string} [init.detail]
   * @param {string} [init.code]
   * @param {number} [init.retryAfterMs] from Retry-After on 429/503
   */
  constructor({ status, title, detail, code, retryAfterMs }) {
    super(title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * @typedef {object} ApiAnswer
 * @property {number} status
 * @property {Headers} headers
 * @property {any} data parsed JSON body, or null
 * @property {boolean} stale served from a cache while the source is down
 */

/**
 * @param {object} options
 * @param {string} [options.base] API origin, '' for same origin
 * @param {string} [options.apiKey] sent as the `apikey` header
 * @param {number} [options.timeoutMs] per request (default 8000)
 * @param {typeof fetch} [options.fetch]
 */
export function createApi({
  base = '',
  apiKey,
  timeoutMs = 8_000,
  fetch: fetchImpl = globalThis.fetch.bind(globalThis),
}) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, headers?: Record<string, string>, signal?: AbortSignal }} [init]
   * @returns {Promise<ApiAnswer>}
   */
  async function request(method, path, init = {}) {
    const headers = { Accept: 'application/json, application/problem+json', ...init.headers };
    if (apiKey) headers.apikey = apiKey;
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let res;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
        credentials: 'omit',
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const timedOut = timeout.aborted;
      throw new ApiError({
        status: 0,
        title: timedOut ? 'The shop took too long to answer' : FALLBACK_TITLES[0],
        detail: String(err),
      });
    }
    const data = await readBody(res);
    if (res.ok) return { status: res.status, headers: res.headers, data, stale: isStale(res.headers) };
    const problem = data && typeof data === 'object' ? data : {};
    throw new ApiError({
      status: res.status,
      title:
        typeof problem.title === 'string' && problem.title
          ? problem.title
          : (FALLBACK_TITLES[res.status] ?? `Request failed (HTTP ${res.status})`),
      detail: typeof problem.detail === 'string' ? problem.detail : undefined,
      code: typeof problem.code === 'string' ? problem.code : undefined,
      retryAfterMs:
        res.status === 429 || res.status === 503
          ? parseRetryAfter(res.headers.get('Retry-After'))
          : undefined,
    });
  }
  return { request };
}

/** @param {Response} res */
async function readBody(res) {
  const type = res.headers.get('Content-Type') ?? '';
  if (!/json/i.test(type)) {
    await res.body?.cancel();
    return null;
  }
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/**
 * A stale answer: `Warning: 110 …` (RFC 7234 "Response is Stale") or
 * `X-Cache: stale` from catalog's own cache, or `Cache-Status: …; fwd=stale`
 * (RFC 9211) from the gateway's stale-if-error copy. @param {Headers} headers
 */
export function isStale(headers) {
  return (
    /^\s*110\b/.test(headers.get('Warning') ?? '') ||
    /^\s*stale\s*$/i.test(headers.get('X-Cache') ?? '') ||
    /(^|;)\s*fwd=stale\s*(;|,|$)/i.test(headers.get('Cache-Status') ?? '')
  );
}

/** A random idempotency key (one per order attempt, reused when the attempt is retried). */
export function newIdempotencyKey() {
  // randomUUID needs a secure context; getRandomValues works on plain http too.
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext !== false)
    return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
