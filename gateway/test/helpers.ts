/**
 * Test kit: real HTTP upstreams on 127.0.0.1 port 0, config files in a temp
 * dir, the gateway in-process (startGateway) or as real processes
 * (`node gateway/src/main.ts`), and polls with deadlines instead of sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { freePort } from '@breakwater/local/ports';
import { createLogger } from '@breakwater/observability';
import { stringify } from 'yaml';
import { type RunningGateway, startGateway } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export const GATEWAY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestUpstream {
  url: string;
  port: number;
  seen: IncomingMessage[];
  /** Stop accepting (connections refused) / start again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Echoes the request as JSON; `/slow…` paths answer after 1.5 s (beyond the
 * test policy's deadline); `/broken…` paths promise 1000 bytes, send 10 and
 * cut the connection (an upstream that dies mid-body).
 */
export const echo: Handler = (req, res) => {
  if (req.url?.includes('/broken')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
    res.write('0123456789', () => res.socket?.destroy());
    return;
  }
  if (req.url?.includes('/slow')) {
    const t = setTimeout(() => res.end('late'), 1_500);
    res.on('close', () => clearTimeout(t));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      bodyBytes: Buffer.concat(chunks).length,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      connection: 'keep-alive',
      'keep-alive': 'timeout=77',
      'x-upstream': 'echo',
    });
    res.end(body);
  });
};

export async function startUpstream(handler: Handler = echo, fixedPort?: number): Promise<TestUpstream> {
  const port = fixedPort ?? (await freePort());
  const seen: IncomingMessage[] = [];
  let server: Server | undefined;
  const start = () =>
    new Promise<void>((r, j) => {
      const s = createServer((req, res) => {
        seen.push(req);
        handler(req, res);
      });
      s.once('error', j);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        r();
      });
    });
  const stop = () =>
    new Promise<void>((r) => {
      const s = server;
      server = undefined;
      if (!s) return r();
      s.close(() => r());
      s.closeAllConnections();
    });
  await start();
  return { url: `http://127.0.0.1:${port}`, port, seen, start, stop, close: stop };
}

const policy = {
  timeoutMs: 500,
  deadlineMs: 1000,
  retry: { maxRetries: 0 },
  breaker: { errorThresholdPct: 50, volumeThreshold: 5, resetTimeoutMs: 500, rollingWindowMs: 10_000 },
  bulkhead: { maxConcurrent: 256, maxQueue: 256 },
};

/** A gateway.yaml for tests: one upstream `svc`, the dev consumers' credentials, given rate limits. */
export function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    // Generous: these tests check exact counting, not what happens when Redis is slow
    // (a decision slower than this fails open or closed). The machine is shared and busy.
    redis: { keyPrefix: 'bw:gw:', commandTimeoutMs: 2_000 },
    upstreams: { svc: policy, other: policy },
    routes: [
      {
        name: 'api',
        path: '/api/svc',
        stripPrefix: '/api',
        methods: ['GET', 'HEAD', 'POST'],
        upstream: 'svc',
      },
      { name: 'other', path: '/api/other', stripPrefix: '/api/other', methods: ['GET'], upstream: 'other' },
      { name: 'private', path: '/api/private', methods: ['GET'], upstream: 'svc', allowConsumers: ['bob'] },
      { name: 'pages', path: '/', methods: ['GET', 'HEAD'], upstream: 'svc', auth: 'none' },
    ],
    consumers: [
      { name: 'alice', apiKeys: ['alice-test-key-0123456789'] },
      { name: 'carol', apiKeys: ['carol-test-key-0123456789'] },
      {
        name: 'bob',
        jwt: [
          { key: 'bob-hs256', algorithm: 'HS256', secret: 'test-only-hs256-secret-0123456789abcdef' },
          {
            key: 'bob-rs256',
            algorithm: 'RS256',
            jwks: join(GATEWAY_DIR, 'dev-keys/dev.jwks.json'),
            kid: 'bob-rs256-dev',
          },
          {
            key: 'bob-es256',
            algorithm: 'ES256',
            jwks: join(GATEWAY_DIR, 'dev-keys/dev.jwks.json'),
            kid: 'bob-es256-dev',
          },
        ],
      },
    ],
    rateLimits: [],
    ...overrides,
  };
}

export function writeConfig(doc: unknown, dir = mkdtempSync(join(tmpdir(), 'bw-gw-cfg-'))): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

const silent = createLogger({ service: 'gateway-test', level: 'silent' });

export async function startTestGateway(opts: {
  configFile: string;
  redisUrl: string;
  upstreams: Record<string, string>;
  /** Endpoints file per upstream (as `<NAME>_ENDPOINTS_FILE`): the gateway balances over it. */
  endpointsFiles?: Record<string, string>;
}): Promise<RunningGateway> {
  const loaded = loadConfig(opts.configFile);
  const upstreamUrls: Record<string, URL> = {};
  for (const [k, v] of Object.entries(opts.upstreams)) upstreamUrls[k] = new URL(v);
  return startGateway({
    loaded,
    upstreamUrls,
    ...(opts.endpointsFiles ? { upstreamEndpointsFiles: opts.endpointsFiles } : {}),
    redisUrl: opts.redisUrl,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    adminToken: ADMIN_TOKEN,
    log: silent,
    drainMs: 500,
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  adminUrl: string;
  stderr: () => string;
  /** The process's log lines so far (JSON, one per line). */
  stdout: () => string;
  stop(): Promise<void>;
}

/** A real `node gateway/src/main.ts` process; resolves once /health/ready answers 200. */
export async function spawnGateway(env: Record<string, string>, port: number): Promise<GatewayProcess> {
  const adminPort = await freePort();
  let err = '';
  let out = '';
  const child = spawn(process.execPath, [join(GATEWAY_DIR, 'src/main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await pollUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${err}`);
        const r = await fetch(`${adminUrl}/admin/limits`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }).catch(() => undefined);
        return r?.status === 200;
      },
      15_000,
      'gateway process ready',
    );
  } catch (e) {
    // Not ready in time (a busy machine): no test will stop it, so it must not outlive this one.
    child.kill('SIGKILL');
    throw e;
  }
  return {
    child,
    adminUrl,
    stderr: () => err,
    stdout: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a process to completion: exit code and output. */
export function runNode(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'pipe',
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => resolveRun({ code: code ?? -1, out, err }));
  });
}

export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  deadlineMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
}

export const addressOf = (s: Server) => (s.address() as AddressInfo).port;

/** Redis and the two upstreams testConfig() routes to, started together for one test file. */
export interface Backends {
  redis: RedisHandle;
  svc: TestUpstream;
  other: TestUpstream;
  /** The upstreams' URLs by name, for startTestGateway. */
  upstreams: { svc: string; other: string };
  /** What a gateway process reads for them (REDIS_URL, SVC_URL, OTHER_URL). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const redis = await startRedis();
  const svc = await startUpstream();
  const other = await startUpstream();
  return {
    redis,
    svc,
    other,
    upstreams: { svc: svc.url, other: other.url },
    env: { REDIS_URL: redis.url, SVC_URL: svc.url, OTHER_URL: other.url },
    async stop() {
      await svc.close();
      await other.close();
      await redis.stop();
    },
  };
}

/** The local deployment's gateway-1 and gateway-2: two processes on one port (SO_REUSEPORT). */
export async function spawnGatewayPair(env: Record<string, string>, port: number): Promise<GatewayProcess[]> {
  const started = await Promise.allSettled([
    spawnGateway({ ...env, BW_SERVICE: 'gateway-1' }, port),
    spawnGateway({ ...env, BW_SERVICE: 'gateway-2' }, port),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed === undefined) return started.map((r) => (r as PromiseFulfilledResult<GatewayProcess>).value);
  // One came up and the other did not: the caller gets no handle to stop the first.
  for (const r of started) if (r.status === 'fulfilled') await r.value.stop();
  throw failed.reason;
}

export interface FreshAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET on a fresh connection (no keep-alive), so SO_REUSEPORT spreads requests over both processes. */
export function getFresh(port: number, path: string, headers: Record<string, string>): Promise<FreshAnswer> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
