/**
 * The undici dispatch handler of one buffered try: chunks are collected into
 * one Buffer without a Readable per response. One small object per try, so a
 * late callback from an abandoned try (still queued in the pool, or aborted
 * asynchronously) can never reach the try that replaced it.
 */
import type { Dispatcher } from 'undici';
import { MeshError } from '../errors.ts';
import type { Call } from './call.ts';
import { asMeshError, tryTimeoutError } from './error-mapping.ts';
import { type Endpoint, outlierStatus } from './load-balancer.ts';
import type { HeaderValues } from './response.ts';
import { TryHandler } from './try-handler.ts';
import { FailedTry, type TryResult } from './try-result.ts';

/** The problem code a mesh server answers when an inbound deadline runs out. */
const CALLEE_DEADLINE = Buffer.from('"code":"MESH_ERR_DEADLINE_EXPIRED"');

export class BufferedTry extends TryHandler {
  #status = 0;
  #headers: HeaderValues = {};
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The endpoint this try went to when the upstream balances (undefined on the single-endpoint path). */
  readonly #endpoint: Endpoint | undefined;

  constructor(call: Call, resolve: (r: TryResult) => void, reject: (e: unknown) => void) {
    super(call, resolve, reject);
    this.#endpoint = call.endpoint;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: HeaderValues): void {
    this.#status = status;
    this.#headers = headers;
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.resolveTry) return;
    const call = this.call;
    this.#bytes += chunk.length;
    if (this.#bytes > call.maxResponseBytes) {
      const err = new MeshError(
        'MESH_ERR_RESPONSE_TOO_LARGE',
        `${call.up.name}: response body over ${call.maxResponseBytes} bytes`,
        { upstream: call.up.name },
      );
      this.#chunks = [];
      this.fail(err);
      c.abort(err);
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    const resolve = this.resolveTry;
    const reject = this.rejectTry;
    if (!resolve || !reject) return;
    this.settled();
    const call = this.call;
    const chunks = this.#chunks;
    this.#chunks = [];
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    const result: TryResult = { status: this.#status, headers: this.#headers, body, stream: undefined };
    // A mesh callee answers 504 MESH_ERR_DEADLINE_EXPIRED when the budget this
    // try sent it runs out — the same moment this try's own timer fires. Whichever
    // wins the race, the caller sees the same error.
    if (this.#endpoint) call.up.lb?.done(this.#endpoint, result.status);
    if (result.status === 504 && body.includes(CALLEE_DEADLINE)) {
      reject(tryTimeoutError(call));
      return;
    }
    if (result.status >= 500) {
      reject(new FailedTry(result, false));
      return;
    }
    const slow = call.up.policy.breaker.slowCallMs;
    if (slow > 0 && performance.now() - call.tryStart > slow) {
      reject(new FailedTry(result, true));
      return;
    }
    resolve(result);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (!this.resolveTry) return;
    const call = this.call;
    this.fail(call.tryAborted && call.reason ? call.reason : asMeshError(call.up, err));
  }

  /** Settles this try as failed (no-op once settled). */
  fail(err: unknown): void {
    const reject = this.rejectTry;
    if (!reject) return;
    this.settled();
    if (this.#endpoint) this.call.up.lb?.done(this.#endpoint, outlierStatus(err));
    reject(err);
  }
}
