/**
 * Deadlines that travel with a request.
 *
 * Wire format: the caller sends the time it is still willing to wait, in
 * whole milliseconds, in `x-bw-timeout-ms` (relative, so clocks need not
 * agree). The mesh client sets it on every try to min(per-try timeout,
 * remaining deadline). The server kit also understands `grpc-timeout`
 * (`<digits><H|M|S|m|u|n>`) and Envoy's `x-envoy-expected-rq-timeout-ms`, and
 * takes the smallest of the three.
 *
 * Inside a process a deadline is an absolute point on the monotonic clock
 * (`performance.now()`), so it survives being handed from an inbound request
 * to an outbound call.
 */

export const DEADLINE_HEADER = 'x-bw-timeout-ms';
const GRPC_TIMEOUT = 'grpc-timeout';
const ENVOY_EXPECTED = 'x-envoy-expected-rq-timeout-ms';

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

export class Deadline {
  /** Absolute time on the `performance.now()` clock, ms. */
  readonly at: number;
  #signal: AbortSignal | undefined;

  constructor(at: number) {
    this.at = at;
  }

  /** A deadline `ms` from now. */
  static after(ms: number): Deadline {
    return new Deadline(performance.now() + ms);
  }

  /** Milliseconds left (negative once passed). */
  remainingMs(): number {
    return this.at - performance.now();
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** An AbortSignal that aborts (reason: a TimeoutError DOMException) at the deadline. Created on first use. */
  get signal(): AbortSignal {
    if (!this.#signal) this.#signal = AbortSignal.timeout(Math.max(0, Math.ceil(this.remainingMs())));
    return this.#signal;
  }
}

/** Parses a `grpc-timeout` value to ms, or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  const unit = m ? GRPC_UNITS[m[2] ?? ''] : undefined;
  if (!m || unit === undefined) return undefined;
  return Number(m[1]) * unit;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The remaining budget (ms) an inbound request carries, or undefined when it
 * carries none. Malformed values are ignored (a bad header never fails a
 * request); a value of 0 or less means already expired.
 */
export function remainingFromHeaders(
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  let best: number | undefined;
  const bw = header(headers, DEADLINE_HEADER);
  if (bw !== undefined && /^-?\d{1,10}$/.test(bw.trim())) best = Number(bw.trim());
  const grpc = header(headers, GRPC_TIMEOUT);
  if (grpc !== undefined) {
    const ms = parseGrpcTimeout(grpc);
    if (ms !== undefined && (best === undefined || ms < best)) best = ms;
  }
  const envoy = header(headers, ENVOY_EXPECTED);
  if (envoy !== undefined && /^\d{1,10}$/.test(envoy.trim())) {
    const ms = Number(envoy.trim());
    if (best === undefined || ms < best) best = ms;
  }
  return best;
}
