import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => context.disable());

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON with service, level label and the active trace and span ids', () => {
    const { lines, stream } = sink();
    const log = createLogger({ service: 'svc', level: 'info', destination: stream });
    log.info('outside');
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    context.with(ctx, () => log.info({ k: 1 }, 'inside'));
    expect(lines[0]).toMatchObject({ service: 'svc', level: 'info', msg: 'outside' });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({
      msg: 'inside',
      k: 1,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
    });
  });

  it('falls back to info on an unknown level, with a warning', () => {
    const { lines, stream } = sink();
    const log = createLogger({ service: 'svc', level: 'loud', destination: stream });
    expect(log.level).toBe('info');
    expect(lines[0]).toMatchObject({ level: 'warn', wanted: 'loud' });
  });
});
