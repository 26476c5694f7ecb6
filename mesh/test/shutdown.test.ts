import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createServiceApp } from '../src/server/index.ts';
import { until } from './helpers.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('graceful shutdown', () => {
  it('in process: readiness false during the drain, in-flight request completes, closers run', async () => {
    let release: (() => void) | undefined;
    let started = false;
    const closed: string[] = [];
    const kit = createServiceApp({
      service: 'drain',
      signals: [],
      drainDelayMs: 150,
      accessLog: false,
      routes: (r) => {
        r.get('/hold', async (_req, res) => {
          started = true;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          res.json({ done: true });
        });
      },
    });
    kit.addCloser('first', () => {
      closed.push('first');
    });
    kit.addCloser('second', async () => {
      closed.push('second');
    });
    const { port } = await kit.listen();
    const pool = new Pool(`http://127.0.0.1:${port}`);
    try {
      const ready = await pool.request({ path: '/health/ready', method: 'GET' });
      expect(ready.statusCode).toBe(200);
      await ready.body.dump();
      const held = pool.request({ path: '/hold', method: 'GET' });
      await until(() => started);
      const done = kit.shutdown('test');
      expect(kit.accepting).toBe(false);
      const during = await pool.request({ path: '/health/ready', method: 'GET' });
      expect(during.statusCode).toBe(503);
      expect(await during.body.json()).toMatchObject({ status: 'draining' });
      release?.();
      const res = await held;
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ done: true });
      await done;
      expect(closed).toEqual(['second', 'first']);
      expect(kit.server?.listening).toBe(false);
      // New connections are refused once the listener has closed.
      const fresh = new Pool(`http://127.0.0.1:${port}`);
      const refused = await fresh.request({ path: '/health/live', method: 'GET' }).catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
      await fresh.destroy();
    } finally {
      await pool.destroy();
    }
  });

  it('a real SIGTERM: the in-flight request completes, readiness is false, exit code 0', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/child-service.ts', import.meta.url));
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, DRAIN_MS: '300', SLOW_MS: '700', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      try {
        lines.push(JSON.parse(l));
      } catch {
        // pino lines and others are not ours
      }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => lines.some((l) => typeof l.port === 'number'), 15_000);
    const port = lines.find((l) => typeof l.port === 'number')?.port as number;
    const pool = new Pool(`http://127.0.0.1:${port}`);
    try {
      const slow = pool.request({ path: '/slow', method: 'GET' });
      await until(() => lines.some((l) => l.started === '/slow'), 5_000);
      child.kill('SIGTERM');
      // Readiness turns false while the in-flight request still runs.
      let sawDraining = false;
      const end = performance.now() + 2_000;
      for (let i = 0; i < 500 && !sawDraining && performance.now() < end; i++) {
        const r = await pool.request({ path: '/health/ready', method: 'GET' });
        const body = (await r.body.json()) as { status: string };
        sawDraining = r.statusCode === 503 && body.status === 'draining';
      }
      expect(sawDraining).toBe(true);
      const res = await slow;
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ finished: true });
      expect(await exited).toBe(0);
      expect(lines.some((l) => l.closed === 'marker')).toBe(true);
    } finally {
      await pool.destroy();
    }
  });
});
