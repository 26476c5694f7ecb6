/** The per-request context every handler finds as `req.bw`: id, deadline, signal, logger. */
import type { Logger } from '@breakwater/observability';
import type { Response } from 'express';
import type { Deadline } from '../deadline.ts';
import { MeshError } from '../errors.ts';

export class RequestContext {
  readonly requestId: string;
  /** The inbound deadline, when the caller sent one (x-bw-timeout-ms, grpc-timeout, x-envoy-expected-rq-timeout-ms). */
  readonly deadline: Deadline | undefined;
  readonly log: Logger;
  readonly traceId: string | undefined;
  #controller: AbortController | undefined;
  #res: Response | undefined;

  constructor(requestId: string, deadline: Deadline | undefined, log: Logger, traceId: string | undefined) {
    this.requestId = requestId;
    this.deadline = deadline;
    this.log = log;
    this.traceId = traceId;
  }

  /** Milliseconds left before the deadline; Infinity without one. */
  remainingMs(): number {
    return this.deadline ? this.deadline.remainingMs() : Number.POSITIVE_INFINITY;
  }

  /**
   * Refuses work that cannot finish in time: throws MESH_ERR_DEADLINE_EXPIRED
   * (504) when less than `neededMs` is left, so a handler behind a 300 ms
   * budget never starts a 2 s query. No-op without a deadline.
   */
  requireBudget(neededMs: number, what = 'this work'): void {
    const left = this.remainingMs();
    if (left < neededMs) {
      throw new MeshError(
        'MESH_ERR_DEADLINE_EXPIRED',
        `${Math.max(0, Math.floor(left))} ms left of the caller's deadline, ${what} needs ${neededMs} ms`,
      );
    }
  }

  /**
   * Aborts at the deadline (reason: MeshError MESH_ERR_DEADLINE_EXPIRED) or
   * when the client goes away before the response is sent. Pass it to every
   * query and outbound call.
   */
  get signal(): AbortSignal {
    return this.controller().signal;
  }

  /** @internal */
  controller(): AbortController {
    if (!this.#controller) {
      this.#controller = new AbortController();
      const res = this.#res;
      if (res) {
        const ac = this.#controller;
        res.once('close', () => {
          if (!res.writableFinished && !ac.signal.aborted) {
            ac.abort(new MeshError('MESH_ERR_ABORTED', 'client closed the connection'));
          }
        });
      }
    }
    return this.#controller;
  }

  /** @internal */
  bind(res: Response): void {
    this.#res = res;
  }
}

declare global {
  namespace Express {
    interface Request {
      /** Breakwater's request context: id, deadline, signal, logger. */
      bw: RequestContext;
    }
  }
}
