/**
 * Builds a running gateway from a loaded config and its dependencies: the
 * Redis connections, the mesh upstream clients, the public server (reusePort,
 * so two gateway processes share one port) and the loopback admin server.
 * `main.ts` only reads the environment and calls `startGateway`; tests call it
 * with real Redis and real upstreams on free ports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUpstream, type Upstream, watchEndpointsFile } from '@breakwater/mesh/client';
import { type Logger, renderMetrics } from '@breakwater/observability';
import { Redis } from 'ioredis';
import { createAdminHandler } from './admin.ts';
import { Authenticator } from './auth.ts';
import { type GatewayConfig, type LoadedConfig, loadConfig } from './config.ts';
import { clientErrorResponse, createHandler } from './gateway.ts';
import { buildState, type GatewayState } from './gateway-state.ts';
import { RATE_LIMIT_COMMAND, RateLimiter } from './rate-limit.ts';
import { createStaleShare } from './stale-share.ts';

export interface GatewayOptions {
  loaded: LoadedConfig;
  /** Base URL per upstream name (from env `<NAME>_URL`). */
  upstreamUrls: Record<string, URL>;
  /**
   * Endpoints file per upstream name (env `<NAME>_ENDPOINTS_FILE`, written by
   * the local supervisor): the upstream balances over the instances it lists
   * and follows its changes; its URL in `upstreamUrls` is then not used.
   */
  upstreamEndpointsFiles?: Record<string, string>;
  redisUrl: string;
  host: string;
  port: number;
  adminPort: number;
  adminToken: string;
  log: Logger;
  /** Instance name in admin answers and logs (gateway-1, gateway-2). */
  instance?: string;
  /** Time to let in-flight requests finish on close (ms); default 10 s. */
  drainMs?: number;
}

export interface RunningGateway {
  readonly port: number;
  readonly adminPort: number;
  readonly url: string;
  readonly adminUrl: string;
  state(): GatewayState;
  /** Re-reads the config file; an invalid file is logged and the running config kept. */
  reload(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number, reusePort: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, reusePort }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function buildUpstreams(
  config: GatewayConfig,
  opts: Pick<GatewayOptions, 'upstreamUrls' | 'upstreamEndpointsFiles' | 'log'>,
  previous: GatewayState | undefined,
): Map<string, Upstream> {
  const urls = opts.upstreamUrls;
  const out = new Map<string, Upstream>();
  for (const [name, policy] of Object.entries(config.upstreams)) {
    const url = urls[name];
    if (!url) throw new Error(`no base URL for upstream "${name}"`);
    const prev = previous?.upstreams.get(name);
    // Keep the client (and its breaker state) when the policy did not change.
    if (prev && JSON.stringify(prev.policy) === JSON.stringify(policy)) out.set(name, prev);
    else {
      const file = opts.upstreamEndpointsFiles?.[name];
      out.set(
        name,
        file
          ? createUpstream({ name, endpoints: watchEndpointsFile(file, opts.log), policy })
          : createUpstream({ name, baseUrl: url.toString().replace(/\/$/, ''), policy }),
      );
    }
  }
  return out;
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const { log } = opts;
  const instance = opts.instance ?? `gateway-${process.pid}`;
  let loaded = opts.loaded;
  const redisOpts = {
    // Fail at once while Redis is down (the limiter then fails open or closed);
    // never queue decisions behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: loaded.config.redis.commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
    lazyConnect: false,
    // Commands issued in the same tick share one write to Redis (stale-share's publishes)...
    enableAutoPipelining: true,
    // ...but not the limiter's script call: it already carries a whole event-loop turn's
    // decisions, sent from a setImmediate; auto-pipelining would queue another setImmediate,
    // which runs only in the next loop iteration, after that iteration's incoming requests.
    autoPipeliningIgnoredCommands: [RATE_LIMIT_COMMAND],
  };
  const redis = new Redis(opts.redisUrl, redisOpts);
  const subscriber = new Redis(opts.redisUrl, {
    ...redisOpts,
    commandTimeout: undefined,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
  });
  let redisStatus = 'connecting';
  redis.on('ready', () => {
    if (redisStatus !== 'ready') log.info({ redis: 'ready' }, 'redis reachable');
    redisStatus = 'ready';
  });
  redis.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  redis.on('close', () => {
    if (redisStatus === 'ready')
      log.warn({ redis: 'down' }, 'redis unreachable: rate limits fail open or closed per policy');
    redisStatus = 'down';
  });

  const limiter = new RateLimiter({
    redis,
    subscriber,
    keyPrefix: loaded.config.redis.keyPrefix,
    policies: loaded.config.rateLimits,
    log,
  });
  await limiter.start();

  let state = buildState(
    loaded.config,
    await Authenticator.create(loaded.config, loaded.baseDir),
    buildUpstreams(loaded.config, opts, undefined),
  );
  // What one process keeps for stale-if-error, every process can serve.
  const staleShare = createStaleShare({
    publisher: redis,
    subscriber,
    channel: `${loaded.config.redis.keyPrefix}stale-answers`,
    instance,
    state: () => state,
    log,
  });
  staleShare.attach(state);
  await staleShare.start();
  let ready = false;

  const server = createServer(
    {
      maxHeaderSize: loaded.config.proxy.maxHeaderBytes,
      requestTimeout: 60_000,
      headersTimeout: 10_000,
      keepAliveTimeout: 5_000,
    },
    createHandler({
      state: () => state,
      limiter,
      log,
      ready: () => ready,
      metrics: renderMetrics,
      redisStatus: () => redisStatus,
      instance,
    }),
  );
  // Node truncates beyond maxHeadersCount; keep one more so the handler can see a flood and refuse it.
  server.maxHeadersCount = loaded.config.proxy.maxHeaderCount + 1;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed) socket.end(clientErrorResponse(err.code));
    else socket.destroy();
  });

  const reload = async (): Promise<{ ok: boolean; error?: string }> => {
    try {
      const next = loadConfig(loaded.file);
      const auth = await Authenticator.create(next.config, next.baseDir);
      const upstreams = buildUpstreams(next.config, opts, state);
      const old = state;
      state = buildState(next.config, auth, upstreams, state);
      staleShare.attach(state);
      loaded = next;
      limiter.setPolicies(next.config.rateLimits);
      for (const [name, up] of old.upstreams) if (upstreams.get(name) !== up) void up.close();
      log.info({ file: next.file, routes: next.config.routes.length }, 'gateway.yaml reloaded');
      return { ok: true };
    } catch (err) {
      const message = (err as Error).message;
      log.error({ err: message }, 'gateway.yaml reload refused; the running config stays');
      return { ok: false, error: message };
    }
  };

  const admin = createServer(
    createAdminHandler({
      token: opts.adminToken,
      config: () => state.config,
      limiter,
      reload,
      log,
      instance,
      metrics: renderMetrics,
    }),
  );

  const port = await listen(server, opts.host, opts.port, true);
  const adminPort = await listen(admin, '127.0.0.1', opts.adminPort, false);
  ready = true;
  log.info({ instance, host: opts.host, port, adminPort }, 'gateway listening');

  return {
    port,
    adminPort,
    url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    state: () => state,
    reload,
    async close() {
      ready = false;
      const drained = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      admin.close();
      admin.closeAllConnections();
      const timer = setTimeout(() => server.closeAllConnections(), opts.drainMs ?? 10_000);
      await drained;
      clearTimeout(timer);
      await Promise.all([...state.upstreams.values()].map((u) => u.close()));
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
