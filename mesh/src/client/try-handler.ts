/**
 * What both kinds of try handler share (dispatch-handler.ts for a buffered
 * try, streaming-try.ts for a streaming one): the try's promise settled at
 * most once, and one handler object per try, so a late callback from an
 * abandoned try (still queued in the pool, or aborted asynchronously) can
 * never reach the try that replaced it.
 */
import type { Dispatcher } from 'undici';
import type { Call } from './call.ts';
import type { TryResult } from './try-result.ts';

export class TryHandler {
  readonly call: Call;
  /** Undefined once the try is settled. */
  protected resolveTry: ((r: TryResult) => void) | undefined;
  protected rejectTry: ((e: unknown) => void) | undefined;
  controller: Dispatcher.DispatchController | undefined = undefined;

  constructor(call: Call, resolve: (r: TryResult) => void, reject: (e: unknown) => void) {
    this.call = call;
    this.resolveTry = resolve;
    this.rejectTry = reject;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (!this.resolveTry) {
      controller.abort(this.call.reason ?? new Error('try already settled'));
      return;
    }
    this.controller = controller;
  }

  /** Marks the try settled and stops its timer (when it is still the call's current try). */
  protected settled(): void {
    this.resolveTry = undefined;
    this.rejectTry = undefined;
    const call = this.call;
    if ((call.current as TryHandler | undefined) === this) {
      clearTimeout(call.tryTimer);
      call.tryTimer = undefined;
      call.current = undefined;
    }
  }
}
