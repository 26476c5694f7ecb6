/**
 * The undici dispatch handler of one streaming try, and the response it
 * becomes. A proxy's answer is written straight from undici's callbacks into
 * the client's response (`sendTo`), as the gateway bench's node-floor does:
 * no Readable, no pipe, no request handler of undici's per response — what
 * `Pool.request` + `pipe` cost on top (~30 % of the floor's throughput,
 * gateway/README.md "Benchmark"). A caller that wants a stream reads `body`:
 * the Readable is built then, on first access, from the same callbacks.
 *
 * Until someone consumes it, the body's chunks wait here (a small answer
 * arrives with its headers, before the caller has the response). The
 * deadline keeps running while the body streams: past it, the try is aborted
 * and the body ends in MESH_ERR_DEADLINE.
 */
import type { Readable, Writable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MeshError } from '../errors.ts';
import { asMeshError } from './error-mapping.ts';
import type { HeaderValues, MeshStreamResponse, StreamObserver } from './response.ts';
import { TryHandler } from './try-handler.ts';
import { FailedTry, type TryResult } from './try-result.ts';

/**
 * Where the body goes once a consumer is known: nobody yet (chunks wait in
 * `pending`), `sendTo` (written straight into a Writable), `body` (pushed
 * into a Readable), `discard` (dropped; the connection goes back to the pool
 * once the body ends).
 */
const Sink = { None: 0, Direct: 1, Readable: 2, Drop: 3 } as const;
type Sink = (typeof Sink)[keyof typeof Sink];

function onDeadline(t: StreamingTry): void {
  const up = t.call.up;
  t.abort(
    new MeshError('MESH_ERR_DEADLINE', `${up.name}: deadline exceeded while streaming`, {
      upstream: up.name,
    }),
  );
}

/** The client response closed: an unfinished body is cut (the upstream connection is not reused). */
function onTargetClose(this: StreamingTry): void {
  this.targetClosed();
}

function onTargetDrain(this: StreamingTry): void {
  this.controller?.resume();
}

/** The Readable of `body`, fed by the try. */
class TryBody extends ReadableStream {
  readonly #try: StreamingTry;
  constructor(t: StreamingTry) {
    super();
    this.#try = t;
  }
  override _read(): void {
    this.#try.controller?.resume();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#try.finished) this.#try.abort(err ?? new Error('body destroyed'));
    cb(err);
  }
}

export class StreamingTry extends TryHandler implements MeshStreamResponse {
  status = 0;
  headers: HeaderValues = {};
  tries = 0;
  /** The body ended, failed or was aborted. */
  finished = false;
  #sink: Sink = Sink.None;
  #pending: Buffer[] | undefined = undefined;
  #ended = false;
  #error: Error | undefined = undefined;
  #target: Writable | undefined = undefined;
  #done: (() => void) | undefined = undefined;
  #observer: StreamObserver | undefined = undefined;
  #readable: TryBody | undefined = undefined;
  #deadline: NodeJS.Timeout | undefined = undefined;

  // --- undici's side

  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: HeaderValues): void {
    const resolve = this.resolveTry;
    const reject = this.rejectTry;
    if (!resolve || !reject) {
      // Answered after the try was given up (timed out, aborted): nobody will read this body.
      c.abort(this.call.reason ?? new Error('try already settled'));
      return;
    }
    this.settled();
    const call = this.call;
    this.status = status;
    this.headers = headers;
    this.tries = call.tries;
    // The per-try timeout stops at headers; the deadline keeps running while the body streams.
    // Whole milliseconds: Node keeps one timer list per distinct duration, and a fractional
    // one (a fresh list and priority-queue entry per response) is never shared.
    const left = Math.ceil(call.deadlineAt - performance.now());
    this.#deadline = setTimeout(onDeadline, left > 1 ? left : 1, this);
    const result: TryResult = { status, headers, body: undefined, stream: this };
    if (status >= 500) reject(new FailedTry(result, false));
    else resolve(result);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#sink) {
      case Sink.Direct: {
        this.#observer?.chunk(chunk);
        const target = this.#target as Writable;
        if (!target.write(chunk)) {
          c.pause();
          target.once('drain', onTargetDrain.bind(this));
        }
        return;
      }
      case Sink.Readable:
        if (!(this.#readable as TryBody).push(chunk)) c.pause();
        return;
      case Sink.Drop:
        return;
      default:
        if (this.#pending === undefined) this.#pending = [chunk];
        else this.#pending.push(chunk);
    }
  }

  onResponseEnd(): void {
    this.#finish();
    this.#ended = true;
    switch (this.#sink) {
      case Sink.Direct:
        this.#observer?.end();
        (this.#target as Writable).end();
        return;
      case Sink.Readable:
        (this.#readable as TryBody).push(null);
        return;
      default:
    }
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    const call = this.call;
    const reason = call.tryAborted && call.reason ? call.reason : err;
    if (this.resolveTry) {
      // Before headers: the try failed.
      this.fail(asMeshError(call.up, reason));
      return;
    }
    this.#finish();
    this.#error = reason;
    this.#failBody();
  }

  /** Settles this try as failed before headers (no-op once settled). */
  fail(err: unknown): void {
    const reject = this.rejectTry;
    if (!reject) return;
    this.settled();
    this.finished = true;
    reject(err);
  }

  /** Stops the try: before headers it fails; after, the body is cut. */
  abort(err: Error): void {
    if (this.finished) return;
    if (this.resolveTry) {
      this.controller?.abort(err);
      this.fail(err);
      return;
    }
    if (this.controller) this.controller.abort(err);
    else {
      this.#finish();
      this.#error = err;
      this.#failBody();
    }
  }

  #finish(): void {
    this.finished = true;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #failBody(): void {
    switch (this.#sink) {
      case Sink.Direct:
        // Nothing left to answer but a cut connection.
        (this.#target as Writable).destroy();
        return;
      case Sink.Readable: {
        const r = this.#readable as TryBody;
        // As undici's body does: an unwatched body never crashes the process.
        if (r.listenerCount('error') === 0) r.on('error', noop);
        r.destroy(this.#error);
        return;
      }
      default:
    }
  }

  // --- the caller's side (MeshStreamResponse)

  get body(): Readable {
    if (this.#readable) return this.#readable;
    if (this.#sink !== Sink.None) throw new Error('the body was already sent or discarded');
    const r = new TryBody(this);
    this.#readable = r;
    this.#sink = Sink.Readable;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) for (const chunk of pending) r.push(chunk);
    if (this.#error) this.#failBody();
    else if (this.#ended) r.push(null);
    return r;
  }

  sendTo(target: Writable, done: () => void, observer?: StreamObserver): void {
    if (this.#sink !== Sink.None) throw new Error('the body was already read or discarded');
    this.#sink = Sink.Direct;
    this.#target = target;
    this.#done = done;
    this.#observer = observer;
    target.once('close', onTargetClose.bind(this));
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending)
      for (const chunk of pending) {
        observer?.chunk(chunk);
        target.write(chunk);
      }
    if (this.#error) this.#failBody();
    else if (this.#ended) {
      observer?.end();
      target.end();
    }
  }

  discard(): void {
    if (this.#sink === Sink.Readable) {
      (this.#readable as TryBody).resume();
      return;
    }
    if (this.#sink !== Sink.None) return;
    this.#sink = Sink.Drop;
    this.#pending = undefined;
  }

  /** The Writable of `sendTo` closed (finished or cut by its client). */
  targetClosed(): void {
    if (!this.finished) this.abort(new Error('the response was closed before the body ended'));
    const done = this.#done;
    this.#done = undefined;
    done?.();
  }
}

function noop(): void {}
