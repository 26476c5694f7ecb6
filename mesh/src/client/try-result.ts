/** What one try produced, and the shape of a try the breaker must count as failed. */
import type { HeaderValues } from './response.ts';
import type { StreamingTry } from './streaming-try.ts';

export interface TryResult {
  status: number;
  headers: HeaderValues;
  body: Buffer | undefined;
  stream: StreamingTry | undefined;
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
