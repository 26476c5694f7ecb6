/** Counts request body bytes on their way upstream and fails the stream once the limit is passed (413). */
import { Transform, type TransformCallback } from 'node:stream';
import { GatewayError } from '../errors.ts';

export class BodyLimit extends Transform {
  readonly limit: number;
  seen = 0;
  exceeded = false;
  constructor(limit: number) {
    super();
    this.limit = limit;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.exceeded = true;
      cb(tooLarge(this.limit));
      return;
    }
    cb(null, chunk);
  }
}

export function tooLarge(limit: number): GatewayError {
  return new GatewayError('GW_ERR_BODY_TOO_LARGE', `Request bodies are limited to ${limit} bytes`);
}
