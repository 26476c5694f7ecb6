/**
 * The Redis process: redis-server on a loopback port with its working folder
 * under the run dir.
 *
 * Durability (issue 13): with `persistent` (the platform's default) Redis
 * keeps an append-only file with `appendfsync always`, so a command Redis
 * answered — an XADD the outbox relay then marks published, an XACK, a
 * consumer group's pending entry — survives a SIGKILL of redis-server and a
 * crash of the machine. `everysec`, used before, does not even survive a
 * SIGKILL for certain: while the background fsync of the previous second is
 * still running, Redis postpones writing its AOF buffer for up to 2 s but
 * sends the replies anyway (aof.c flushAppendOnlyFile; only `always` writes
 * before replying, and fsyncs too), so on a busy disk an acknowledged XADD
 * could die with the process and its order would never be paid. `always`
 * costs one write + fsync per event-loop turn that changed data (commands of
 * that turn share it); local/test/crash-durability.test.ts SIGKILLs a Redis
 * mid-stream and finds every acknowledged entry and pending entry again.
 */
import { mkdirSync } from 'node:fs';
import { findRedisServer } from './binaries.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { redisProbe } from './readiness.ts';

export interface RedisOptions {
  name?: string;
  port: number;
  /** Working folder (append-only file, dump). */
  dir: string;
  logFile: string;
  /**
   * Keep data across a kill/restart with an append-only file, written and
   * fsynced before Redis replies (`appendfsync always`, see above): drills
   * kill Redis and expect streams to survive. Default true; the test harness
   * turns it off for speed unless a test asks for it.
   */
  persistent?: boolean;
  readyTimeoutMs?: number;
  tier?: number;
  portHint?: string;
}

export function redisUrl(port: number): string {
  return `redis://${LOOPBACK}:${port}`;
}

export function redisSpec(options: RedisOptions): ProcessSpec {
  const command = findRedisServer();
  const persistent = options.persistent ?? true;
  const spec: ProcessSpec = {
    name: options.name ?? 'redis',
    kind: 'redis',
    command,
    args: [
      '--port',
      String(options.port),
      '--bind',
      LOOPBACK,
      '--dir',
      options.dir,
      '--daemonize',
      'no',
      '--save',
      '',
      '--appendonly',
      persistent ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--logfile',
      '',
    ],
    port: options.port,
    url: redisUrl(options.port),
    logFile: options.logFile,
    ready: redisProbe(options.port),
    stopSignal: 'SIGTERM',
    prepare: async () => {
      mkdirSync(options.dir, { recursive: true });
    },
  };
  return {
    ...spec,
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.tier !== undefined ? { tier: options.tier } : {}),
    ...(options.portHint !== undefined ? { portHint: options.portHint } : {}),
  };
}
