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
import { prepareBundles } from './bundle-cache.ts';
import {
  type CertificateAuthority,
  PROMETHEUS_IDENTITY,
  SUPERVISOR_IDENTITY,
} from './certificate-authority.ts';
import { LocalError } from './errors.ts';
import { findGrafana, GRAFANA_MISSING, grafanaSpec } from './grafana.ts';
import type { ProcessKind, ProcessSpec } from './managed-process.ts';
import { nodeArgs } from './node-flags.ts';
import { freePorts, isPortFree, LOOPBACK } from './ports.ts';
import { type PostgresInstance, postgresInstance } from './postgres.ts';
import { prometheusSpec } from './prometheus.ts';
import { allProbes, httpProbe, httpsProbe } from './readiness.ts';
import { redisSpec, redisUrl } from './redis.ts';
import { instanceName } from './replicas.ts';
import { scrapeTargetsDir, writeInitialTargets } from './scrape-targets.ts';
import { unknownProcess } from './supervisor.ts';
import { findZipkin, ZIPKIN_ENDPOINT_ENV, ZIPKIN_NICE, zipkinSpansEndpoint, zipkinSpec } from './zipkin.ts';

/**
 * One process of the platform: an instance of a PlatformService (its name is
 * the service's, or `<service>-<n>` when the service has several replicas).
 */
export interface PlatformEntry {
  readonly name: string;
  /** The service it is an instance of (its name when it is the only one). */
  readonly service?: string;
  readonly kind: Exclude<ProcessKind, 'other'>;
  /**
   * Stop order, reversed: higher tiers stop first. Services and gateways
   * start as soon as their Redis and database are ready (nodeSpec's
   * `startAfter`); the others once every lower tier is.
   */
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
 * A service described once: what it runs, what it needs (database, Redis,
 * upstreams), its notes, and how many replicas. `instancesOf` expands it into
 * the processes the supervisor runs, so adding a service or a replica is one
 * entry here.
 */
export interface PlatformService extends Omit<PlatformEntry, 'sharesPortWith' | 'service'> {
  /** Instances to run (default 1). One keeps the service's name; more are `<name>-1` … `<name>-<n>`. */
  readonly replicas?: number;
  /**
   * The replicas listen on one port (SO_REUSEPORT), as the gateways do;
   * otherwise each has its own.
   */
  readonly sharePort?: boolean;
}

/** The processes of a list of services: replicas named `<service>-<n>`, notes on the first only. */
export function instancesOf(services: readonly PlatformService[]): PlatformEntry[] {
  return services.flatMap(({ replicas = 1, sharePort = false, ...service }) => {
    if (replicas === 1) return [{ ...service, service: service.name }];
    const first = `${service.name}-1`;
    return Array.from({ length: replicas }, (_, i) => ({
      ...service,
      service: service.name,
      name: instanceName(service.name, i + 1, replicas),
      ...(i > 0 ? { notes: undefined } : {}),
      ...(i > 0 && sharePort ? { sharesPortWith: first } : {}),
    }));
  });
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
  '  curl -sS -H "Authorization: Bearer $(npm run --silent gateway -- token bob)" {url}/api/catalog/products/sku-0001   # bob (JWT)',
  'Tune rate limits live (any gateway process; every process applies the change on its next request):',
  '  export GATEWAY_ADMIN_URL={adminUrl} GATEWAY_ADMIN_TOKEN={adminToken}',
  '  npm run gateway -- limits get',
];

const GATEWAY_UPSTREAMS = ['catalog', 'orders', 'payments', 'frontend'];

/** The local platform, one entry per service. */
export const SERVICES: readonly PlatformService[] = [
  { name: 'redis', kind: 'redis', tier: 0 },
  ...['catalog', 'orders', 'payments', 'notifications'].map(
    (owner): PlatformService => ({ name: `pg-${owner}`, kind: 'postgres', tier: 0, owner }),
  ),
  {
    name: 'catalog',
    kind: 'service',
    tier: 1,
    main: 'services/catalog/src/main.ts',
    database: 'pg-catalog',
    redis: true,
  },
  ...['orders', 'payments', 'notifications'].map(
    (name): PlatformService => ({
      name,
      kind: 'service',
      tier: 2,
      main: `services/${name}/src/main.ts`,
      database: `pg-${name}`,
      redis: true,
      ...(name === 'orders' ? { upstreams: ['catalog'] } : {}),
    }),
  ),
  {
    name: 'gateway',
    kind: 'gateway',
    tier: 3,
    main: 'gateway/src/main.ts',
    redis: true,
    upstreams: GATEWAY_UPSTREAMS,
    notes: GATEWAY_NOTES,
    replicas: 2,
    sharePort: true,
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
  // The trace backend, where Java and the pinned jar are; otherwise `up` says what is missing.
  { name: 'zipkin', kind: 'zipkin', tier: 0 },
];

/** Every process of the local platform, in start-list order. */
export const PLATFORM: readonly PlatformEntry[] = instancesOf(SERVICES);

/** SERVICES with some replica counts changed (`--replicas`, checked by parseReplicas). */
export function withReplicas(replicas: Readonly<Record<string, number>>): PlatformService[] {
  return SERVICES.map((s) => (replicas[s.name] === undefined ? s : { ...s, replicas: replicas[s.name] }));
}

/** The endpoints file of a service in a run folder (discovery). */
export function endpointsFile(runDir: string, service: string): string {
  return path.join(runDir, 'endpoints', `${service}.json`);
}

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
  /** The declarative list; default PLATFORM with `replicas` applied (tests pass their own). */
  entries?: readonly PlatformEntry[];
  /** Instances per service (`--replicas catalog=3`); implies `discovery`. */
  replicas?: Readonly<Record<string, number>>;
  /**
   * Callers learn a service's instances from its endpoints file (which the
   * supervisor rewrites) instead of one static URL, so `scale` works.
   */
  discovery?: boolean;
  /** One-line notices (stale postmaster.pid removed, rules left out). */
  log?: (line: string) => void;
  /**
   * The run's certificate authority: with it every service serves mTLS
   * (https:// URLs, BW_TLS_DIR per process, Prometheus scrapes with its own
   * certificate); without it, plain HTTP (`--plaintext`).
   */
  ca?: CertificateAuthority;
}

export interface Platform {
  specs: ProcessSpec[];
  /** Whether callers read endpoints files (then `scale` can add and remove instances). */
  discovery: boolean;
  /**
   * The spec of one more instance of a service (fresh ports), for `scale`;
   * throws when the service has no process here.
   */
  newInstance(service: string, name: string): Promise<ProcessSpec>;
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

/** Where every process listens: its port, and its admin port (services and gateways). */
interface Layout {
  readonly port: Map<string, number>;
  readonly adminPort: Map<string, number>;
  readonly prometheusPort: number;
}

/**
 * Every entry gets a port (so upstream URLs exist even for services not
 * written yet), services and gateways also an admin port; the gateways share
 * one (default 8080), Prometheus prefers 9090.
 */
async function allocatePorts(entries: readonly PlatformEntry[], options: PlatformOptions): Promise<Layout> {
  const ownPort = entries.filter((e) => !e.sharesPortWith && e.kind !== 'prometheus' && e.kind !== 'gateway');
  const adminPorts = entries.filter((e) => e.kind === 'service' || e.kind === 'gateway');
  const next = await portAllocator(ownPort.length + adminPorts.length + 2, options.portBase);
  const port = new Map<string, number>();
  for (const e of ownPort) port.set(e.name, next());
  const adminPort = new Map<string, number>();
  for (const e of adminPorts) adminPort.set(e.name, next());
  if (entries.some((e) => e.kind === 'gateway')) {
    const p = options.gatewayPort
      ? options.gatewayPort
      : options.gatewayPort === 0
        ? next()
        : DEFAULT_GATEWAY_PORT;
    for (const e of entries) if (e.kind === 'gateway') port.set(e.name, p);
  }
  for (const e of entries) if (e.sharesPortWith) port.set(e.name, port.get(e.sharesPortWith) ?? next());
  let prometheusPort = options.prometheusPort;
  if (prometheusPort === undefined)
    prometheusPort = (await isPortFree(DEFAULT_PROMETHEUS_PORT)) ? DEFAULT_PROMETHEUS_PORT : next();
  else if (prometheusPort === 0) prometheusPort = next();
  for (const e of entries) if (e.kind === 'prometheus') port.set(e.name, prometheusPort);
  return { port, adminPort, prometheusPort };
}

/** What buildPlatform's small functions share. */
interface Build {
  readonly options: PlatformOptions;
  readonly entries: readonly PlatformEntry[];
  readonly layout: Layout;
  readonly postgres: ReadonlyMap<string, PostgresInstance>;
  readonly notes: string[];
  /** Every spec built so far (all of them once Prometheus' prepare runs). */
  readonly specs: ProcessSpec[];
  readonly skipped: Platform['skipped'];
  readonly log: (line: string) => void;
  readonly discovery: boolean;
  /** The entries this run starts (`--only`). */
  readonly selected: readonly PlatformEntry[];
  urlOf(name: string): string;
  logFile(name: string): string;
}

const PORT_HINT: Partial<Record<PlatformEntry['kind'], string>> = {
  gateway: 'stop what uses it or pass --gateway-port N',
  prometheus: 'stop what uses it or pass --prometheus-port N',
};
const portHintOf = (e: PlatformEntry) => PORT_HINT[e.kind] ?? 'stop what uses it, or pass --port-base N';

/** Built even for processes not selected: a selected service still needs its DATABASE_URL. */
function postgresInstances(b: Omit<Build, 'postgres'>): Map<string, PostgresInstance> {
  const out = new Map<string, PostgresInstance>();
  for (const e of b.entries) {
    if (e.kind !== 'postgres') continue;
    out.set(
      e.name,
      postgresInstance({
        name: e.name,
        dir: path.join(b.options.runDir, e.name),
        port: b.layout.port.get(e.name) as number,
        logFile: b.logFile(e.name),
        databases: [{ name: e.owner ?? e.name }],
        tier: e.tier,
        portHint: portHintOf(e),
        onRecovered: (m) => b.log(`${e.name}: ${m}`),
      }),
    );
  }
  return out;
}

/** A process's URL: https:// for an HTTP service when the run has a CA (mTLS), else http://. */
function urlOfEntry(e: Pick<PlatformEntry, 'name' | 'kind'>, b: Build): string {
  const url = b.urlOf(e.name);
  return e.kind === 'service' && b.options.ca ? url.replace(/^http:/, 'https:') : url;
}

/** The process's certificate folder, which the CA writes before each start and renews. */
function identityEnv(e: PlatformEntry, b: Build): Record<string, string> {
  return b.options.ca ? { BW_TLS_DIR: b.options.ca.identityDir(e.name) } : {};
}

/** The environment of a service or gateway process (docs/conventions.md). */
function nodeEnv(e: PlatformEntry, b: Build): Record<string, string> {
  const { options, layout } = b;
  const admin = String(layout.adminPort.get(e.name));
  const env: Record<string, string> = {
    HOST: LOOPBACK,
    PORT: String(layout.port.get(e.name)),
    // A service's instances share its name (metrics' `service` label, the
    // consumer group); Prometheus tells them apart by `instance`. The gateway
    // labels its instance with it (gateway-1, gateway-2).
    BW_SERVICE: e.kind === 'gateway' ? e.name : (e.service ?? e.name),
    ...identityEnv(e, b),
  };
  if (e.kind === 'gateway') {
    env.GATEWAY_CONFIG = options.gatewayConfig ?? GATEWAY_CONFIG;
    env.GATEWAY_ADMIN_PORT = admin;
    env.GATEWAY_ADMIN_TOKEN = options.adminToken;
  } else {
    env.BW_ADMIN_PORT = admin;
    env.BW_ADMIN_TOKEN = options.adminToken;
  }
  const redis = b.entries.find((x) => x.kind === 'redis');
  if (e.redis && redis) env.REDIS_URL = redisUrl(layout.port.get(redis.name) as number);
  if (e.database) {
    const owner = b.entries.find((x) => x.name === e.database)?.owner ?? e.name;
    const pg = b.postgres.get(e.database);
    if (pg) env.DATABASE_URL = pg.databaseUrl(owner);
  }
  for (const up of e.upstreams ?? []) {
    // The first instance's URL always (callers require it); with discovery also
    // the file listing every instance, which callers then balance over.
    const first = b.entries.find((x) => (x.service ?? x.name) === up);
    if (!first || !layout.port.has(first.name)) continue;
    env[envName(up)] = urlOfEntry(first, b);
    // Only for an upstream this run starts: the supervisor writes files for its own processes.
    const runs = (x: PlatformEntry) => !x.main || existsSync(path.join(options.root, x.main));
    if (b.discovery && b.selected.some((x) => x.kind === 'service' && x.service === up && runs(x)))
      env[envName(up).replace(/_URL$/, '_ENDPOINTS_FILE')] = endpointsFile(options.runDir, up);
  }
  const { zipkinUrl } = zipkinUrlOf(b);
  if (zipkinUrl) env[ZIPKIN_ENDPOINT_ENV] = zipkinSpansEndpoint(zipkinUrl);
  if (e.gatewayConsumerKey) {
    const key = gatewayConsumerApiKey(options.root, e.gatewayConsumerKey.consumer, options.gatewayConfig);
    if (key !== undefined) env[e.gatewayConsumerKey.env] = key;
  }
  return env;
}

function nodeSpec(e: PlatformEntry, b: Build): ProcessSpec {
  const admin = b.layout.adminPort.get(e.name) as number;
  const url = urlOfEntry(e, b);
  const ca = b.options.ca;
  const service = e.service ?? e.name;
  return {
    name: e.name,
    kind: e.kind,
    service,
    command: process.execPath,
    args: nodeArgs(e.kind === 'gateway' ? 'gateway' : 'service', e.main as string, b.options.root),
    cwd: b.options.root,
    env: nodeEnv(e, b),
    port: b.layout.port.get(e.name) as number,
    // Either side of an SO_REUSEPORT pair restarts while the other holds the port;
    // a gateway always binds with SO_REUSEPORT, so `scale gateway` can add siblings.
    sharedPort: e.kind === 'gateway' || Boolean(e.sharesPortWith),
    portHint: portHintOf(e),
    url,
    logFile: b.logFile(e.name),
    // Gateways share one port, so /health/ready there may be answered by
    // the sibling: each must also answer on its own admin port.
    ready:
      e.kind === 'gateway'
        ? allProbes(
            httpProbe(`${url}/health/ready`),
            httpProbe(`http://${LOOPBACK}:${admin}/admin/config`, {
              authorization: `Bearer ${b.options.adminToken}`,
            }),
          )
        : ca
          ? httpsProbe(`${url}/health/ready`, {
              caFile: ca.caFile,
              certFile: path.join(ca.identityDir('supervisor'), 'cert.pem'),
              keyFile: path.join(ca.identityDir('supervisor'), 'key.pem'),
              anyName: true,
            })
          : httpProbe(`${url}/health/ready`),
    // A fresh certificate before every start (a restarted process gets a new one).
    ...(ca
      ? { prepare: async () => void (await ca.issue(e.name, e.kind === 'gateway' ? 'gateway' : service)) }
      : {}),
    adminPort: admin,
    // Each gateway process on its own admin port (loopback, /metrics needs no token):
    // the shared public port would answer from a random process on every scrape.
    metricsPort: e.kind === 'gateway' ? admin : (b.layout.port.get(e.name) as number),
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 10_000,
    tier: e.tier,
    // Starts once its Redis and its database answer: not after every process of lower
    // tiers (the services it calls are looked up per call, as on a cluster, and stop
    // still follows the tiers: gateways first). Side by side, the start is one Node
    // start long instead of three.
    startAfter: [
      ...b.entries.filter((x) => x.kind === 'redis' && e.redis).map((x) => x.name),
      ...(e.database ? [e.database] : []),
    ],
  };
}

function grafanaOf(e: PlatformEntry, b: Build): ProcessSpec | string {
  const prometheus = b.entries.find((x) => x.kind === 'prometheus');
  const prometheusUrl = prometheus
    ? b.urlOf(prometheus.name)
    : `http://${LOOPBACK}:${DEFAULT_PROMETHEUS_PORT}`;
  const binary = findGrafana();
  if (!binary) {
    b.notes.push(...GRAFANA_MISSING.map((n) => n.replaceAll('{prometheusUrl}', prometheusUrl)));
    return 'grafana not installed (see the note below the table)';
  }
  b.notes.push(`Grafana: ${b.urlOf(e.name)}/dashboards/f/breakwater (anonymous viewer)`);
  return grafanaSpec({
    binary,
    root: b.options.root,
    dir: path.join(b.options.runDir, e.name),
    port: b.layout.port.get(e.name) as number,
    prometheusUrl,
    ...zipkinUrlOf(b),
    logFile: b.logFile(e.name),
    tier: e.tier,
    portHint: portHintOf(e),
  });
}

/** The run's Zipkin entry when this run starts it and it can run (Java and the jar are there). */
function zipkinOfRun(b: Build): PlatformEntry | undefined {
  const e = b.selected.find((x) => x.kind === 'zipkin');
  return e && !('missing' in findZipkin(b.options.root)) ? e : undefined;
}

/** `{ zipkinUrl }` when this run starts Zipkin (Grafana's datasource), else nothing. */
function zipkinUrlOf(b: Build): { zipkinUrl?: string } {
  const zipkin = zipkinOfRun(b);
  return zipkin ? { zipkinUrl: b.urlOf(zipkin.name) } : {};
}

function zipkinOf(e: PlatformEntry, b: Build): ProcessSpec | string {
  const binaries = findZipkin(b.options.root);
  if ('missing' in binaries) {
    b.notes.push(`Zipkin: not started, spans are not exported: ${binaries.missing}`);
    return 'no Java 17 or Zipkin jar (see the note below the table)';
  }
  const url = b.urlOf(e.name);
  b.notes.push(
    `Zipkin (traces): ${url}/zipkin/  (a trace by the trace_id of an access-log line: ${url}/zipkin/traces/<trace_id>)`,
  );
  return {
    ...zipkinSpec({
      binaries,
      name: e.name,
      dir: path.join(b.options.runDir, e.name),
      port: b.layout.port.get(e.name) as number,
      logFile: b.logFile(e.name),
      tier: e.tier,
      portHint: portHintOf(e),
    }),
    // Nothing waits for it: its JVM's start-up yields the cores to the services starting beside it.
    nice: ZIPKIN_NICE,
  };
}

/** The process spec of one entry, or why it is not started. */
function specOf(e: PlatformEntry, b: Build): ProcessSpec | string {
  const p = b.layout.port.get(e.name) as number;
  const common = { dir: path.join(b.options.runDir, e.name), logFile: b.logFile(e.name), tier: e.tier };
  switch (e.kind) {
    case 'redis':
      return redisSpec({ name: e.name, port: p, ...common, portHint: portHintOf(e) });
    case 'postgres': {
      const pg = b.postgres.get(e.name) as PostgresInstance;
      // Shown in the table: the owner's URL with the password masked.
      return { ...pg.spec, url: pg.databaseUrl(e.owner ?? e.name).replace(/:[^:@/]*@/, ':***@') };
    }
    case 'service':
    case 'gateway':
      return nodeSpec(e, b);
    case 'prometheus': {
      const command = findPrometheus();
      if (!command) return PROMETHEUS_MISSING;
      const ca = b.options.ca;
      const dir = ca?.identityDir(e.name);
      const spec = prometheusSpec({
        command,
        root: b.options.root,
        port: p,
        targetsDir: scrapeTargetsDir(b.options.runDir),
        initialTargets: () => writeInitialTargets(b.options.runDir, b.specs),
        ...common,
        portHint: portHintOf(e),
        warn: b.log,
        ...(ca && dir
          ? {
              tls: {
                caFile: ca.caFile,
                certFile: path.join(dir, 'cert.pem'),
                keyFile: path.join(dir, 'key.pem'),
              },
            }
          : {}),
      });
      if (!ca) return spec;
      return {
        ...spec,
        prepare: async () => {
          await ca.issue(e.name, PROMETHEUS_IDENTITY);
          await spec.prepare?.();
        },
      };
    }
    case 'grafana':
      return grafanaOf(e, b);
    case 'zipkin':
      return zipkinOf(e, b);
  }
}

/** An entry's notes with its own URL, port, admin URL and the run's admin token filled in. */
function notesOf(e: PlatformEntry, b: Build): string[] {
  return (e.notes ?? []).map((n) =>
    n
      .replaceAll('{url}', b.urlOf(e.name))
      .replaceAll('{port}', String(b.layout.port.get(e.name)))
      .replaceAll('{adminUrl}', `http://${LOOPBACK}:${b.layout.adminPort.get(e.name)}`)
      .replaceAll('{adminToken}', b.options.adminToken),
  );
}

/** What `up` prints about mTLS: where the CA and the identities are. */
export function mtlsNotes(ca: CertificateAuthority): string[] {
  const ids = path.dirname(ca.identityDir('x'));
  return [
    `mTLS: services answer only callers holding a certificate from this run's CA: ${ca.caFile}`,
    `identities (cert.pem, key.pem, ca.pem per process, SPIFFE ids spiffe://cluster.local/ns/breakwater/sa/<service>): ${ids}/<process>, renewed every ${Math.round(ca.lifetimeMs / 2_000)} s`,
  ];
}

export async function buildPlatform(options: PlatformOptions): Promise<Platform> {
  const entries = options.entries ?? instancesOf(withReplicas(options.replicas ?? {}));
  const names = entries.map((e) => e.name);
  for (const name of options.only ?? []) if (!names.includes(name)) throw unknownProcess(name, names);
  const selected = entries.filter((e) => !options.only || options.only.includes(e.name));
  // Binaries first: a missing one is the clearest error there is.
  if (selected.some((e) => e.kind === 'redis')) findRedisServer();
  if (selected.some((e) => e.kind === 'postgres')) findPostgres();

  const layout = await allocatePorts(entries, options);
  const partial = {
    options,
    entries,
    layout,
    notes: [] as string[],
    skipped: [] as Platform['skipped'],
    specs: [] as ProcessSpec[],
    log: options.log ?? (() => {}),
    selected,
    discovery: options.discovery === true || Object.keys(options.replicas ?? {}).length > 0,
    urlOf: (name: string) => `http://${LOOPBACK}:${layout.port.get(name)}`,
    logFile: (name: string) => path.join(options.runDir, 'logs', `${name}.log`),
  };
  const b: Build = { ...partial, postgres: postgresInstances(partial) };
  if (options.ca) {
    // The supervisor's own certificate: its readiness probes of /health/ready are mTLS too.
    await options.ca.issue('supervisor', SUPERVISOR_IDENTITY);
    b.notes.push(...mtlsNotes(options.ca));
  }
  const specs = b.specs;
  for (const e of selected) {
    // A service or gateway starts only once its main file exists: `up` grows as services land.
    if (e.main && !existsSync(path.join(options.root, e.main))) {
      b.skipped.push({ name: e.name, reason: `${e.main} does not exist yet` });
      continue;
    }
    const spec = specOf(e, b);
    if (typeof spec === 'string') {
      b.skipped.push({ name: e.name, reason: spec });
      continue;
    }
    const notes = notesOf(e, b);
    specs.push(notes.length ? { ...spec, notes } : spec);
    b.notes.push(...notes);
  }
  if (b.postgres.size) {
    b.notes.push(
      `PostgreSQL: one instance per service, database and role named after it; passwords in ${path.join(options.runDir, 'pg-<service>', 'credentials.json')}`,
    );
  }
  const newInstance = async (service: string, name: string): Promise<ProcessSpec> => {
    const model = entries.find((e) => (e.service ?? e.name) === service && e.main);
    if (!model) throw unknownProcess(service, [...new Set(entries.map((e) => e.service ?? e.name))]);
    const leader = entries.find((e) => e.service === service && !e.sharesPortWith);
    const shares = model.kind === 'gateway' && leader ? { sharesPortWith: leader.name } : {};
    const [port, admin] = await freePorts(2);
    if (!shares.sharesPortWith) layout.port.set(name, port as number);
    else layout.port.set(name, layout.port.get(shares.sharesPortWith) as number);
    layout.adminPort.set(name, admin as number);
    const { sharesPortWith: _s, notes: _n, ...rest } = model;
    // Sources edited since the start: rebuild the bundles without stalling the supervisor.
    await prepareBundles(b.options.root);
    return nodeSpec({ ...rest, ...shares, name }, b);
  };
  return { specs, skipped: b.skipped, notes: b.notes, discovery: b.discovery, newInstance };
}
