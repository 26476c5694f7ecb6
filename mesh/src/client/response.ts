/** What a call returns: a buffered response, or a streaming one. */
import type { Readable, Writable } from 'node:stream';

export type HeaderValues = Record<string, string | string[] | undefined>;

/** A buffered response. */
export class MeshResponse {
  readonly status: number;
  readonly headers: HeaderValues;
  readonly body: Buffer;
  /** Tries it took (1 = no retry). */
  readonly tries: number;

  constructor(status: number, headers: HeaderValues, body: Buffer, tries: number) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.tries = tries;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** Parses the body as JSON (throws SyntaxError on a malformed body). */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }
}

/** Sees a streamed body's chunks on their way to `sendTo`'s target (e.g. to keep a copy). */
export interface StreamObserver {
  chunk(chunk: Buffer): void;
  /** The body ended whole (not called when it was cut). */
  end(): void;
}

/**
 * A streaming response: the caller must consume its body once, one of three
 * ways: `sendTo` (written straight into a Writable, the proxy's fast path),
 * `body` (a Readable, built on first access), or `discard`. Through `body`,
 * the body is a Readable the caller must consume or destroy. A body the upstream cuts mid-stream errors and closes without
 * ending; undici gives it a no-op 'error' listener before destroying it, so
 * an unwatched body never crashes the process. A caller that must react (cut
 * its own response) watches 'close' with `readableEnded` still false, or uses
 * `stream.pipeline`. Prefer 'close' to an 'error' listener added after the
 * fact: in the gateway such a late listener made V8 promote about a quarter
 * of every request's objects to the old generation, and scavenges of ~10 ms
 * doubled p99 under the gateway bench's load (measured with --trace-gc-nvp).
 */
export interface MeshStreamResponse {
  readonly status: number;
  readonly headers: HeaderValues;
  /** The body as a Readable (built on first access; not after `sendTo` or `discard`). */
  readonly body: Readable;
  readonly tries: number;
  /**
   * Writes the body straight into `target` and ends it, with backpressure;
   * a body cut by the upstream (or the deadline) destroys `target`, and a
   * `target` closed before the body ended stops the upstream's. `done` is
   * called once `target` has closed.
   */
  sendTo(target: Writable, done: () => void, observer?: StreamObserver): void;
  /** Drops the body (read to its end, so the connection is reused). */
  discard(): void;
}

/** A response a fallback can return (`staticResponse(200, { items: [] })`). */
export function staticResponse(status: number, body: unknown = '', headers: HeaderValues = {}): MeshResponse {
  const buf = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const h = { ...headers };
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) h['content-type'] ??= 'application/json';
  return new MeshResponse(status, h, buf, 0);
}
