/** What one try produced, and the shape of a try the breaker must count as failed. */
import type { Readable } from 'node:stream';
import type { HeaderValues } from './response.ts';

export interface TryResult {
  status: number;
  headers: HeaderValues;
  body: Buffer | undefined;
  stream: Readable | undefined;
}

/** A try that came back with a response the breaker must count as failed (5xx or slow). */
export class FailedTry {
  readonly response: TryResult;
  readonly slow: boolean;
  constructor(response: TryResult, slow: boolean) {
    this.response = response;
    this.slow = slow;
  }
}

/**
 * Drops the body of a failed try before the next one. undici's body stream
 * emits an abort error when destroyed; with no listener that error would be
 * unhandled and take the whole process down, so one is attached first.
 */
export function discardBody(stream: Readable | undefined): void {
  if (!stream) return;
  stream.on('error', () => {});
  stream.destroy();
}
