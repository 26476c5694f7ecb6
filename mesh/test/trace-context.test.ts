// Registers a real context manager and W3C propagator (globals), so it runs in its own file.

import { context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstream } from '../src/client/index.ts';
import { createServiceApp, type ServiceApp } from '../src/server/index.ts';
import { startUpstream } from './helpers.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

describe('W3C trace context', () => {
  it('the client injects traceparent from the active context', async () => {
    const u = await startUpstream((_req, res) => res.end());
    const c = createUpstream({ name: 'trace', baseUrl: u.url });
    try {
      const ctx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        traceFlags: TraceFlags.SAMPLED,
      });
      await context.with(ctx, () => c.request({ path: '/' }));
      expect(u.last?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    } finally {
      await c.close();
      await u.close();
    }
  });

  it('the server kit continues the caller trace: handlers and outbound calls see it', async () => {
    const down = await startUpstream((_req, res) => res.end());
    const c = createUpstream({
      name: 'trace-down',
      baseUrl: down.url,
      policy: { timeoutMs: 3_000, deadlineMs: 5_000 },
    });
    let kit: ServiceApp | undefined;
    try {
      kit = createServiceApp({
        service: 'trace-kit',
        signals: [],
        drainDelayMs: 0,
        accessLog: false,
        routes: (r) => {
          r.get('/hop', async (req, res) => {
            await c.request({ path: '/next', deadline: req.bw.deadline });
            res.json({ traceId: req.bw.traceId });
          });
        },
      });
      const { port } = await kit.listen();
      const pool = new Pool(`http://127.0.0.1:${port}`);
      const r = await pool.request({
        method: 'GET',
        path: '/hop',
        headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, 'x-bw-timeout-ms': '1500' },
      });
      expect(r.statusCode).toBe(200);
      expect(await r.body.json()).toEqual({ traceId: TRACE_ID });
      await pool.close();
      expect(down.last?.traceparent).toContain(TRACE_ID);
      const forwarded = Number(down.last?.['x-bw-timeout-ms']);
      expect(forwarded).toBeGreaterThan(1_000);
      expect(forwarded).toBeLessThanOrEqual(1_500);
    } finally {
      await kit?.shutdown();
      await c.close();
      await down.close();
    }
  });
});
