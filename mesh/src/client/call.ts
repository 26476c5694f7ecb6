/**
 * Per-call state, one object per call: the request normalised once (method,
 * path with query, headers without hop-by-hop fields, body), the retry view,
 * the deadline, and the try in flight (aborted through its handler).
 */
import type { Readable } from 'node:stream';
import { MeshError } from '../errors.ts';
import { IDEMPOTENT_METHODS } from '../policy.ts';
import type { BufferedTry } from './dispatch-handler.ts';
import type { Endpoint } from './load-balancer.ts';
import type { RetryView } from './retry-view.ts';
import type { StreamingTry } from './streaming-try.ts';
import type { CallOptions } from './types.ts';
import type { UpstreamClient } from './upstream.ts';

/** Connection-level headers a caller (e.g. a proxy) must not forward; undici sets its own. */
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

export class Call {
  readonly up: UpstreamClient;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | Uint8Array | Readable | undefined;
  readonly streaming: boolean;
  readonly retryable: boolean;
  readonly retry: RetryView;
  readonly timeoutMs: number;
  readonly deadlineAt: number;
  readonly signal: AbortSignal | undefined;
  readonly maxResponseBytes: number;
  readonly start: number;
  tries = 0;
  tryTimer: NodeJS.Timeout | undefined = undefined;
  tryCutIsDeadline = false;
  tryStart = 0;

  // A try is aborted through its dispatch handler (`current`: its controller
  // and its own settle), never through an AbortSignal shared between calls
  // (opossum #780).
  /** Why the current try was aborted. */
  reason: MeshError | undefined = undefined;
  tryAborted = false;
  /** Bound once per call, only when the caller passed a signal. */
  callerAbortHandler: (() => void) | undefined = undefined;
  /** The endpoint of the last try (several endpoints only): a retry goes elsewhere where it can. */
  endpoint: Endpoint | undefined = undefined;
  /**
   * The try in flight until its response headers arrive. Aborting it settles
   * it at once: undici keeps an aborted request that still waits for its
   * connection queued until the connection is made or its connect timeout
   * fires (a TLS handshake with a paused server hangs that long), so the try
   * would outlive its timer.
   */
  current: BufferedTry | StreamingTry | undefined = undefined;

  constructor(up: UpstreamClient, o: CallOptions, streaming: boolean, start: number, retry: RetryView) {
    this.up = up;
    this.retry = retry;
    this.start = start;
    this.maxResponseBytes = o.maxResponseBytes ?? up.maxResponseBytes;
    const method = (o.method ?? 'GET').toUpperCase();
    this.method = method;
    this.streaming = streaming;
    this.signal = o.signal;
    const p = up.policy;
    this.timeoutMs = o.timeoutMs ?? p.timeoutMs;
    let deadlineAt = start + (o.deadlineMs ?? p.deadlineMs);
    if (o.deadline && o.deadline.at < deadlineAt) deadlineAt = o.deadline.at;
    this.deadlineAt = deadlineAt;
    this.path = withQuery(up.pathPrefix + o.path, o.query);
    const headers = forwardableHeaders(o.headers);
    let body = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
      delete headers['content-length'];
    }
    this.body = body;
    if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
    this.headers = headers;
    const streamBody = body !== undefined && typeof (body as Readable).pipe === 'function';
    this.retryable =
      retry.maxRetries > 0 &&
      !streamBody &&
      (IDEMPOTENT_METHODS.has(method) || o.idempotencyKey !== undefined);
  }

  /** Aborts the try in flight (if any) with `reason`. */
  abortTry(reason: MeshError): void {
    if (this.tryAborted) return;
    this.tryAborted = true;
    this.reason = reason;
    // Settle the try now (even if undici still has it queued), and tell
    // undici to drop it once it has a controller.
    const t = this.current;
    if (t) {
      t.controller?.abort(reason);
      t.fail(reason);
    }
  }
}

function withQuery(path: string, query: CallOptions['query']): string {
  if (!query) return path;
  let qs = '';
  for (const k in query) {
    const v = query[k];
    if (v === undefined) continue;
    qs += `${qs ? '&' : ''}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
  }
  return qs ? path + (path.includes('?') ? '&' : '?') + qs : path;
}

function forwardableHeaders(given: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!given) return headers;
  for (const k in given) {
    const lk = k.toLowerCase();
    if (HOP_BY_HOP.has(lk)) continue;
    const v = given[k];
    if (v !== undefined) headers[lk] = v;
  }
  return headers;
}

/** The caller's AbortSignal listener, bound to the call once (only when a signal was given). */
export function onCallerAbort(this: Call): void {
  this.abortTry(
    new MeshError('MESH_ERR_ABORTED', `${this.up.name}: call aborted by caller`, {
      upstream: this.up.name,
      cause: this.signal?.reason,
    }),
  );
}
