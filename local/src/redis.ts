/** The Redis process: redis-server on a loopback port with its working folder under the run dir. */
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
   * Keep data across a kill/restart with an append-only file (fsync every
   * second): local drills kill Redis and expect streams to survive. Default
   * true; the test harness turns it off for speed.
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
      'everysec',
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
