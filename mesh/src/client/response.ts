/** What a call returns: a buffered response, or a streaming one. */
import type { Readable } from 'node:stream';

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

/**
 * A streaming response: the body is a Readable the caller must consume or
 * destroy. A body the upstream cuts mid-stream errors and closes without
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
  readonly body: Readable;
  readonly tries: number;
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
