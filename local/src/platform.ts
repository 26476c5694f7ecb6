/**
 * The one declarative list of the local platform's processes, and how it
 * becomes process specs: ports, environment, readiness, data folders.
 *
 * A service or gateway entry is started only once its main file exists, so
 * `up` works with the infrastructure alone and grows as services land.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { findPostgres, findPrometheus, findRedisServer, PROMETHEUS_MISSING } from './binaries.ts';
import { LocalError } from './errors.ts';
import { findGrafana, GRAFANA_MISSING, grafanaSpec } from './grafana.ts';
import type { ProcessKind, ProcessSpec } from './managed-process.ts';
import { freePorts, isPortFree, LOOPBACK } from './ports.ts';
import { type PostgresInstance, postgresInstance } from './postgres.ts';
import { prometheusSpec, type ScrapeTarget } from './prometheus.ts';
import { allProbes, httpProbe } from './readiness.ts';
import { redisSpec, redisUrl } from './redis.ts';
import { unknownProcess } from './supervisor.ts';

export interface PlatformEntry {
  readonly name: string;
  readonly kind: Exclude<ProcessKind, 'other'>;
  /** Start order: lower first, concurrently within a tier; stop is the reverse. */
  readonly tier: number;
  /** service/gateway: main file relative to the repo root, run with `node`. */
  readonly main?: string;
  /** postgres: the service owning it — its database and role are named after it. */
  readonly owner?: string;
  /** service: the PostgreSQL process holding its database (gives DATABASE_URL). */
  readonly database?: string;
  /** Gets REDIS_URL. */
  readonly redis?: boolean;
  /** Services it calls: each gives `<NAME>_URL`. */
  readonly upstreams?: readonly string[];
  /**
   * Gets the first API key of this gateway.yaml consumer in env `env` (the
   * shop page's public key), when gateway.yaml defines it.
   */
  readonly gatewayConsumerKey?: { readonly consumer: string; readonly env: string };
  /** Binds the same port as that entry (SO_REUSEPORT): no port check, no own port. */
  readonly sharesPortWith?: string;
  /**
   * Lines printed under the status table when this process runs; `{url}` and
   * `{port}` are replaced with its own. The hook for e.g. the gateway's
   * development consumers.
   */
  readonly notes?: readonly string[];
}

/**
 * The gateway's hint under the status table (printed only when the gateway
 * runs); `{url}` is the gateway's URL. Every indented line is a command that
 * runs exactly as printed with any system Node (a test runs them): the CLIs go
 * through npm scripts, which bootstrap Node 24.
 */
export const GATEWAY_NOTES: readonly string[] = [
  'Shop: {url}/  (development consumers, all secrets fake: gateway/gateway.yaml `consumers:`)',
  "  curl -sS -H 'apikey: dev-alice-key-0000-NOT-A-SECRET' '{url}/api/catalog/products?limit=3'   # alice (API key)",
  '  curl -sS -H "Authorization: Bearer $(npm run --silent gateway -- token bob)" {url}/api/catalog/products/1   # bob (JWT)',
  'Tune rate limits live (any gateway process; every process applies the change on its next request):',
  '  export GATEWAY_ADMIN_URL={adminUrl} GATEWAY_ADMIN_TOKEN={adminToken}',
  '  npm run gateway -- limits get',
];

export const PLATFORM: readonly PlatformEntry[] = [
  { name: 'redis', kind: 'redis', tier: 0 },
  { name: 'pg-catalog', kind: 'postgres', tier: 0, owner: 'catalog' },
  { name: 'pg-orders', kind: 'postgres', tier: 0, owner: 'orders' },
  { name: 'pg-payments', kind: 'postgres', tier: 0, owner: 'payments' },
  { name: 'pg-notifications', kind: 'postgres', tier: 0, owner: 'notifications' },
  {
    name: 'catalog',
    kind: 'service',
    tier: 1,
    main: 'services/catalog/src/main.ts',
    database: 'pg-catalog',
    redis: true,
  },
  {
    name: 'orders',
    kind: 'service',
    tier: 2,
    main: 'services/orders/src/main.ts',
    database: 'pg-orders',
    redis: true,
    upstreams: ['catalog'],
  },
  {
    name: 'payments',
    kind: 'service',
    tier: 2,
    main: 'services/payments/src/main.ts',
    database: 'pg-payments',
    redis: true,
  },
  {
    name: 'notifications',
    kind: 'service',
    tier: 2,
    main: 'services/notifications/src/main.ts',
    database: 'pg-notifications',
    redis: true,
  },
  {
    name: 'gateway-1',
    kind: 'gateway',
    tier: 3,
    main: 'gateway/src/main.ts',
    redis: true,
    upstreams: ['catalog', 'orders', 'payments', 'frontend'],
    notes: GATEWAY_NOTES,
  },
  {
    name: 'gateway-2',
    kind: 'gateway',
    tier: 3,
    main: 'gateway/src/main.ts',
    redis: true,
    upstreams: ['catalog', 'orders', 'payments', 'frontend'],
    sharesPortWith: 'gateway-1',
  },
  {
    name: 'frontend',
    kind: 'service',
    tier: 1,
    main: 'services/frontend/src/main.ts',
    gatewayConsumerKey: { consumer: 'shop-frontend', env: 'FRONTEND_API_KEY' },
  },
  { name: 'prometheus', kind: 'prometheus', tier: 0 },
  // Only where a Grafana is installed; otherwise `up` says how to get one.
  { name: 'grafana', kind: 'grafana', tier: 1 },
];

export const DEFAULT_GATEWAY_PORT = 8080;
export const DEFAULT_PROMETHEUS_PORT = 9090;

export interface PlatformOptions {
  /** Repository root (services' cwd). */
  root: string;
  /** Run folder: data, logs, state (default `<root>/.run`). */
  runDir: string;
  /** Only these processes (names from PLATFORM). */
  only?: readonly string[];
  /** Ports from here on, one by one, instead of kernel-chosen free ports. */
  portBase?: number;
  /** Default 8080; 0 = any free port. */
  gatewayPort?: number;
  /** Default 9090 when free, else any free port; 0 = any free port. */
  prometheusPort?: number;
  /** BW_ADMIN_TOKEN / GATEWAY_ADMIN_TOKEN for every process. */
  adminToken: string;
  /**
   * The gateways' configuration file, relative to root or absolute (default
   * GATEWAY_CONFIG). Drills point it at a variant to prove a mechanism matters.
   */
  gatewayConfig?: string;
  /** The declarative list; default PLATFORM (tests pass their own). */
  entries?: readonly PlatformEntry[];
  /** One-line notices (stale postmaster.pid removed, rules left out). */
  log?: (line: string) => void;
}

export interface Platform {
  specs: ProcessSpec[];
  /** Entries not started, with why. */
  skipped: { name: string; reason: string }[];
  /** Lines to print under the status table. */
  notes: string[];
}

/** Hands out ports: sequential from a base, or distinct kernel-chosen free ports. */
async function portAllocator(count: number, base: number | undefined): Promise<() => number> {
  if (base !== undefined) {
    if (base < 1024 || base + count > 65535) {
      throw new LocalError(
        'LOCAL_ERR_BAD_INPUT',
        `--port-base must leave room for ${count} ports in 1024-65535`,
      );
    }
    let next = base;
    return () => next++;
  }
  const ports = await freePorts(count);
  return () => {
    const p = ports.shift();
    if (p === undefined) throw new Error('port allocator exhausted');
    return p;
  };
}

export const GATEWAY_CONFIG = 'gateway/gateway.yaml';

/** The first API key of a consumer in gateway.yaml, or undefined (no file, no consumer, unreadable). */
export function gatewayConsumerApiKey(
  root: string,
  consumer: string,
  configFile: string = GATEWAY_CONFIG,
): string | undefined {
  try {
    const config = parse(readFileSync(path.resolve(root, configFile), 'utf8')) as {
      consumers?: { name?: string; apiKeys?: unknown[] }[];
    };
    const key = config.consumers?.find((c) => c.name === consumer)?.apiKeys?.[0];
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

function envName(service: string): string {
  return `${service.toUpperCase().replaceAll('-', '_')}_URL`;
}

export async function buildPlatform(options: PlatformOptions): Promise<Platform> {
  const entries = options.entries ?? PLATFORM;
  const names = entries.map((e) => e.name);
  for (const name of options.only ?? []) if (!names.includes(name)) throw unknownProcess(name, names);
  const selected = (e: PlatformEntry) => !options.only || options.only.includes(e.name);
  const log = options.log ?? (() => {});
  const logFile = (name: string) => path.join(options.runDir, 'logs', `${name}.log`);
  const skipped: Platform['skipped'] = [];

  // Binaries first: a missing one is the clearest error there is.
  if (entries.some((e) => e.kind === 'redis' && selected(e))) findRedisServer();
  if (entries.some((e) => e.kind === 'postgres' && selected(e))) findPostgres();

  // Ports: every entry gets one (so upstream URLs exist even for services not
  // written yet), services and gateways also an admin port.
  const ownPort = entries.filter(
    (e) => !e.sharesPortWith && e.kind !== 'prometheus' && e.name !== 'gateway-1',
  );
  const adminPorts = entries.filter((e) => e.kind === 'service' || e.kind === 'gateway');
  const next = await portAllocator(ownPort.length + adminPorts.length + 2, options.portBase);
  const port = new Map<string, number>();
  for (const e of ownPort) port.set(e.name, next());
  const adminPort = new Map<string, number>();
  for (const e of adminPorts) adminPort.set(e.name, next());
  const gatewayPort =
    options.gatewayPort === 0 || options.gatewayPort === undefined ? undefined : options.gatewayPort;
  const gatewayEntries = entries.filter((e) => e.kind === 'gateway');
  if (gatewayEntries.length) {
    const p = gatewayPort ?? (options.gatewayPort === 0 ? next() : DEFAULT_GATEWAY_PORT);
    for (const e of gatewayEntries) port.set(e.name, p);
  }
  for (const e of entries) {
    if (e.sharesPortWith) port.set(e.name, port.get(e.sharesPortWith) ?? next());
  }
  let prometheusPort = options.prometheusPort;
  if (prometheusPort === undefined) {
    prometheusPort = (await isPortFree(DEFAULT_PROMETHEUS_PORT)) ? DEFAULT_PROMETHEUS_PORT : next();
  } else if (prometheusPort === 0) prometheusPort = next();
  for (const e of entries) if (e.kind === 'prometheus') port.set(e.name, prometheusPort);

  const urlOf = (name: string) => `http://${LOOPBACK}:${port.get(name)}`;
  const redisEntry = entries.find((e) => e.kind === 'redis');
  const redisPort = redisEntry ? port.get(redisEntry.name) : undefined;

  const pgInstances = new Map<string, PostgresInstance>();
  const specs: ProcessSpec[] = [];
  const notes: string[] = [];
  const targets: ScrapeTarget[] = [];
  const present = (e: PlatformEntry) => !e.main || existsSync(path.join(options.root, e.main));

  for (const e of entries) {
    const p = port.get(e.name) as number;
    if (e.kind === 'postgres') {
      const owner = e.owner ?? e.name;
      // Built even when not selected: a selected service still needs its DATABASE_URL.
      pgInstances.set(
        e.name,
        postgresInstance({
          name: e.name,
          dir: path.join(options.runDir, e.name),
          port: p,
          logFile: logFile(e.name),
          databases: [{ name: owner }],
          tier: e.tier,
          portHint: `stop what uses it, or pass --port-base N`,
          onRecovered: (m) => log(`${e.name}: ${m}`),
        }),
      );
    }
  }

  for (const e of entries) {
    if (!selected(e)) continue;
    const p = port.get(e.name) as number;
    const portHint =
      e.kind === 'gateway'
        ? 'stop what uses it or pass --gateway-port N'
        : e.kind === 'prometheus'
          ? 'stop what uses it or pass --prometheus-port N'
          : 'stop what uses it, or pass --port-base N';
    const entryNotes = (e.notes ?? []).map((n) =>
      n
        .replaceAll('{url}', urlOf(e.name))
        .replaceAll('{port}', String(p))
        .replaceAll('{adminUrl}', `http://${LOOPBACK}:${adminPort.get(e.name)}`)
        .replaceAll('{adminToken}', options.adminToken),
    );
    if (!present(e)) {
      skipped.push({ name: e.name, reason: `${e.main} does not exist yet` });
      continue;
    }
    switch (e.kind) {
      case 'redis':
        specs.push(
          redisSpec({
            name: e.name,
            port: p,
            dir: path.join(options.runDir, e.name),
            logFile: logFile(e.name),
            tier: e.tier,
            portHint,
          }),
        );
        break;
      case 'postgres':
        {
          const pg = pgInstances.get(e.name) as PostgresInstance;
          // Shown in the table: the owner's URL with the password masked.
          const url = pg.databaseUrl(e.owner ?? e.name).replace(/:[^:@/]*@/, ':***@');
          specs.push({ ...pg.spec, url });
        }
        break;
      case 'service':
      case 'gateway': {
        const env: Record<string, string> = { HOST: LOOPBACK, PORT: String(p) };
        const admin = String(adminPort.get(e.name));
        if (e.kind === 'gateway') {
          Object.assign(env, {
            BW_SERVICE: e.name, // the gateway labels its instance with it (gateway-1, gateway-2)
            GATEWAY_CONFIG: options.gatewayConfig ?? GATEWAY_CONFIG,
            GATEWAY_ADMIN_PORT: admin,
            GATEWAY_ADMIN_TOKEN: options.adminToken,
          });
        } else {
          Object.assign(env, {
            BW_SERVICE: e.name,
            BW_ADMIN_PORT: admin,
            BW_ADMIN_TOKEN: options.adminToken,
          });
        }
        if (e.redis && redisPort !== undefined) env.REDIS_URL = redisUrl(redisPort);
        if (e.database) {
          const pg = pgInstances.get(e.database);
          const owner = entries.find((x) => x.name === e.database)?.owner ?? e.name;
          if (pg) env.DATABASE_URL = pg.databaseUrl(owner);
        }
        for (const up of e.upstreams ?? []) if (port.has(up)) env[envName(up)] = urlOf(up);
        if (e.gatewayConsumerKey) {
          const key = gatewayConsumerApiKey(
            options.root,
            e.gatewayConsumerKey.consumer,
            options.gatewayConfig,
          );
          if (key !== undefined) env[e.gatewayConsumerKey.env] = key;
        }
        specs.push({
          name: e.name,
          kind: e.kind,
          command: process.execPath,
          args: [e.main as string],
          cwd: options.root,
          env,
          port: p,
          // Either side of an SO_REUSEPORT pair restarts while the other holds the port.
          sharedPort: Boolean(e.sharesPortWith) || entries.some((x) => x.sharesPortWith === e.name),
          portHint,
          url: urlOf(e.name),
          logFile: logFile(e.name),
          // Gateways share one port, so /health/ready there may be answered by
          // the sibling: each must also answer on its own admin port.
          ready:
            e.kind === 'gateway'
              ? allProbes(
                  httpProbe(`${urlOf(e.name)}/health/ready`),
                  httpProbe(`http://${LOOPBACK}:${admin}/admin/config`, {
                    authorization: `Bearer ${options.adminToken}`,
                  }),
                )
              : httpProbe(`${urlOf(e.name)}/health/ready`),
          adminPort: Number(admin),
          readyTimeoutMs: 30_000,
          stopTimeoutMs: 10_000,
          tier: e.tier,
          ...(entryNotes.length ? { notes: entryNotes } : {}),
        });
        if (e.kind === 'service') targets.push({ job: e.name, port: p });
        // Each gateway process on its own admin port (loopback, /metrics needs no token):
        // the shared public port would answer from a random process on every scrape.
        else targets.push({ job: 'gateway', port: Number(admin), labels: { instance: e.name } });
        break;
      }
      case 'prometheus': {
        const command = findPrometheus();
        if (!command) {
          skipped.push({ name: e.name, reason: PROMETHEUS_MISSING });
          continue;
        }
        specs.push(
          prometheusSpec({
            command,
            root: options.root,
            dir: path.join(options.runDir, e.name),
            port: p,
            logFile: logFile(e.name),
            targets,
            tier: e.tier,
            portHint,
            warn: log,
          }),
        );
        break;
      }
      case 'grafana': {
        const prometheus = entries.find((x) => x.kind === 'prometheus');
        const prometheusUrl = prometheus
          ? urlOf(prometheus.name)
          : `http://${LOOPBACK}:${DEFAULT_PROMETHEUS_PORT}`;
        const binary = findGrafana();
        if (!binary) {
          skipped.push({ name: e.name, reason: 'grafana not installed (see the note below the table)' });
          notes.push(...GRAFANA_MISSING.map((n) => n.replaceAll('{prometheusUrl}', prometheusUrl)));
          continue;
        }
        specs.push(
          grafanaSpec({
            binary,
            root: options.root,
            dir: path.join(options.runDir, e.name),
            port: p,
            prometheusUrl,
            logFile: logFile(e.name),
            tier: e.tier,
            portHint,
          }),
        );
        notes.push(`Grafana: ${urlOf(e.name)}/dashboards/f/breakwater (anonymous viewer)`);
        break;
      }
    }
    notes.push(...entryNotes);
  }
  if (pgInstances.size) {
    notes.push(
      `PostgreSQL: one instance per service, database and role named after it; passwords in ${path.join(options.runDir, 'pg-<service>', 'credentials.json')}`,
    );
  }
  return { specs, skipped, notes };
}
