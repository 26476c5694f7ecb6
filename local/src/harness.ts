/**
 * Test harness: a real Redis and a real PostgreSQL on free loopback ports in
 * temporary folders, built on the same process code as `up` (ManagedProcess,
 * redisSpec, postgresInstance). No mocks.
 *
 *   const redis = await startRedis();
 *   const pg = await startPostgres({ databases: ['catalog'] });
 *   const url = pg.databaseUrl('catalog');      // postgres://catalog:…@127.0.0.1:<port>/catalog
 *   const isolated = await createDatabase(pg);  // a fresh database + role for one test
 *   await redis.kill(); await redis.restart();  // faults: kill, pause, resume, restart
 *   await Promise.all([redis.stop(), pg.stop()]); // teardown: process gone, folder removed
 *
 *   const kube = await startKubeApiServer();    // etcd + kube-apiserver; kube.kubeconfig for kubectl
 *   const zipkin = await startZipkin();         // zipkin.url; zipkin.spansEndpoint for OTEL_EXPORTER_ZIPKIN_ENDPOINT
 *   const ca = await startCertificateAuthority(); // the platform's CA in a temp folder
 *   const dir = await ca.issue('orders', 'orders'); // BW_TLS_DIR of a process that is `orders`
 *
 * Every handle is also torn down when the test process exits, and a later
 * harness start reaps servers left by a test process that was killed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SpiffeId } from '@breakwater/mesh/identity';
import { loadRootCa } from '@breakwater/mesh/identity/issuer';
import { Agent } from 'undici';
import {
  CertificateAuthority,
  type CertificateAuthorityOptions,
  PROMETHEUS_IDENTITY,
} from './certificate-authority.ts';
import { isLocalError, LocalError } from './errors.ts';
import {
  etcdSpec,
  kubeApiServerCaFile,
  kubeApiServerSpec,
  kubeControllerManagerSpec,
  writeKubeCredentials,
  writeKubeconfig,
} from './kube-apiserver.ts';
import { tailLines } from './logs.ts';
import { ManagedProcess, type ProcessSpec } from './managed-process.ts';
import { freePort } from './ports.ts';
import { ensureDatabase, type PostgresDurability, postgresInstance, postgresUrl } from './postgres.ts';
import { redisSpec } from './redis.ts';
import { killLeftoverGroup, pidRunning } from './stale.ts';
import { findZipkin, zipkinSpansEndpoint, zipkinSpec, zipkinUrl } from './zipkin.ts';

export interface ServerHandle {
  readonly name: string;
  /** redis://127.0.0.1:<port> or the superuser's postgres:// URL. */
  readonly url: string;
  readonly port: number;
  /** The temporary folder (data and `server.log`). */
  readonly dir: string;
  readonly logFile: string;
  /** The pid while it runs. */
  readonly pid: number | undefined;
  /** Teardown: stops the server (gracefully, then SIGKILL) and removes its folder. Idempotent. */
  stop(): Promise<void>;
  /** Fault: SIGKILL (data stays; `restart()` brings it back on the same port). */
  kill(): Promise<void>;
  /** Fault: SIGSTOP — connections hang until `resume()`. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Stops it if alive and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Graceful stop that keeps the folder, so `restart()` can bring it back. */
  stopProcess(): Promise<void>;
}

export interface RedisHandle extends ServerHandle {}

export interface PostgresHandle extends ServerHandle {
  /** The superuser URL to the `postgres` database (same as `url`). */
  readonly superuserUrl: string;
  /** URLs of the databases created so far, by name (each with its own role). */
  readonly databaseUrls: Readonly<Record<string, string>>;
  /** URL of a database created at start or by createDatabase(). */
  databaseUrl(name: string): string;
}

export interface StartRedisOptions {
  /** Default: a free port. */
  port?: number;
  /** Append-only file so data survives kill/restart. Default false (faster). */
  persistent?: boolean;
  /** Default 20_000 (20 s). */
  readyTimeoutMs?: number;
}

export interface StartPostgresOptions {
  /** Databases to create at start, each with a login role of the same name. */
  databases?: readonly string[];
  /** Default: a free port. */
  port?: number;
  /** Default 30_000 (30 s). */
  readyTimeoutMs?: number;
  /**
   * Default `durable`, so a test may kill() it and find every commit;
   * `test-only` (faster) only for a server no test crashes (postgres.ts).
   */
  durability?: PostgresDurability;
}

const REGISTRY = path.join(os.tmpdir(), `breakwater-harness-${process.getuid?.() ?? 'user'}`);
const live = new Set<{ process: ManagedProcess; dir: string; entry: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test forgets stop(): 'exit' handlers must be synchronous.
  process.on('exit', () => {
    for (const h of live) {
      h.process.killNow();
      rmSync(h.dir, { recursive: true, force: true });
      rmSync(h.entry, { force: true });
    }
  });
}

interface RegistryEntry {
  owner: number;
  pid: number;
  command: string;
  dir: string;
}

/** Kills servers (and removes folders) left by harness users whose process is gone. */
export function reapOrphans(): number {
  let reaped = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(REGISTRY);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const file = path.join(REGISTRY, name);
    let entry: RegistryEntry;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry;
    } catch {
      continue;
    }
    if (pidRunning(entry.owner)) continue;
    killLeftoverGroup(entry.pid, entry.command);
    rmSync(entry.dir, { recursive: true, force: true });
    rmSync(file, { force: true });
    reaped += 1;
  }
  return reaped;
}

function register(
  process_: ManagedProcess,
  dir: string,
): { process: ManagedProcess; dir: string; entry: string } {
  mkdirSync(REGISTRY, { recursive: true });
  const entry = path.join(REGISTRY, `${path.basename(dir)}.json`);
  return { process: process_, dir, entry };
}

function writeEntry(handle: { process: ManagedProcess; dir: string; entry: string }): void {
  const pid = handle.process.pid;
  if (pid === undefined) return;
  const record: RegistryEntry = {
    owner: process.pid,
    pid,
    command: handle.process.spec.command,
    dir: handle.dir,
  };
  writeFileSync(handle.entry, JSON.stringify(record));
}

function isBindFailure(err: unknown, logFile: string): boolean {
  if (isLocalError(err, 'LOCAL_ERR_PORT_TAKEN')) return true;
  if (!isLocalError(err, 'LOCAL_ERR_EXITED')) return false;
  return /address already in use|could not bind|could not create any TCP\/IP sockets/i.test(
    tailLines(logFile, 20),
  );
}

/**
 * Starts a process built from `build(port)`, retrying on a fresh free port when
 * another test grabbed the chosen one between the check and the bind.
 */
async function startOnPort(
  fixedPort: number | undefined,
  build: (port: number) => ProcessSpec,
): Promise<{ process: ManagedProcess; port: number }> {
  const attempts = fixedPort === undefined ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = fixedPort ?? (await freePort());
    const managed = new ManagedProcess(build(port));
    try {
      await managed.start();
      return { process: managed, port };
    } catch (err) {
      lastError = err;
      if (!isBindFailure(err, managed.spec.logFile)) throw err;
    }
  }
  throw lastError;
}

function handleFor<Extra extends object>(
  name: string,
  url: string,
  port: number,
  dir: string,
  managed: ManagedProcess,
  extra: Extra,
): ServerHandle & Extra {
  installExitHook();
  const record = register(managed, dir);
  writeEntry(record);
  live.add(record);
  let stopped = false;
  return {
    ...extra,
    name,
    url,
    port,
    dir,
    logFile: managed.spec.logFile,
    get pid() {
      return managed.pid;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await managed.stop();
      live.delete(record);
      rmSync(dir, { recursive: true, force: true });
      rmSync(record.entry, { force: true });
    },
    kill: () => managed.kill(),
    pause: () => managed.pause(),
    resume: () => managed.resume(),
    async restart() {
      await managed.restart();
      writeEntry(record);
    },
    stopProcess: () => managed.stop(),
  };
}

/** A real redis-server on a free loopback port in a temporary folder. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  reapOrphans();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-redis-'));
  try {
    const { process: managed, port } = await startOnPort(options.port, (p) =>
      redisSpec({
        name: 'redis',
        port: p,
        dir,
        logFile: path.join(dir, 'server.log'),
        persistent: options.persistent ?? false,
        readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
      }),
    );
    return handleFor('redis', `redis://127.0.0.1:${port}`, port, dir, managed, {});
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A real PostgreSQL (initdb in a temporary folder) on a free loopback port. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresHandle> {
  reapOrphans();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-pg-'));
  const databaseUrls: Record<string, string> = {};
  try {
    let instance: ReturnType<typeof postgresInstance> | undefined;
    const { process: managed, port } = await startOnPort(options.port, (p) => {
      instance = postgresInstance({
        name: 'postgres',
        dir,
        port: p,
        logFile: path.join(dir, 'server.log'),
        databases: (options.databases ?? []).map((name) => ({ name })),
        readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
        durability: options.durability ?? 'durable',
      });
      return instance.spec;
    });
    const pgInstance = instance as NonNullable<typeof instance>;
    for (const name of options.databases ?? []) databaseUrls[name] = pgInstance.databaseUrl(name);
    return handleFor('postgres', pgInstance.superuserUrl, port, dir, managed, {
      superuserUrl: pgInstance.superuserUrl,
      databaseUrls,
      databaseUrl(name: string) {
        const url = databaseUrls[name];
        if (url === undefined) {
          throw new Error(
            `no database "${name}" on this PostgreSQL: create it with createDatabase(pg, "${name}")`,
          );
        }
        return url;
      },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface ZipkinHandle extends ServerHandle {
  /** `<url>/api/v2/spans`: what OTEL_EXPORTER_ZIPKIN_ENDPOINT takes. */
  readonly spansEndpoint: string;
}

export interface StartZipkinOptions {
  /** Repository root (finds the pinned jar in .tools/zipkin); default this checkout's. */
  root?: string;
  /** Default ZIPKIN_MAX_SPANS. */
  maxSpans?: number;
  /** Default 180_000 (3 min; zipkin.ts says why). */
  readyTimeoutMs?: number;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Zipkin's server (in-memory store, bounded heap) on a free loopback port.
 * Throws LOCAL_ERR_MISSING_BINARY naming what is missing (Java >= 17, or the
 * jar the bootstrap downloads: `npm test` installs both).
 */
export async function startZipkin(options: StartZipkinOptions = {}): Promise<ZipkinHandle> {
  const binaries = findZipkin(options.root ?? REPO_ROOT);
  if ('missing' in binaries) throw new LocalError('LOCAL_ERR_MISSING_BINARY', binaries.missing);
  reapOrphans();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-zipkin-'));
  try {
    const { process: managed, port } = await startOnPort(undefined, (p) =>
      zipkinSpec({
        binaries,
        port: p,
        dir,
        logFile: path.join(dir, 'server.log'),
        ...(options.maxSpans !== undefined ? { maxSpans: options.maxSpans } : {}),
        ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      }),
    );
    const url = zipkinUrl(port);
    return handleFor('zipkin', url, port, dir, managed, { spansEndpoint: zipkinSpansEndpoint(url) });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** What createDatabase needs: a harness PostgresHandle or the shared one from `@breakwater/local/shared`. */
export interface PostgresTarget {
  readonly superuserUrl: string;
  readonly port: number;
  readonly databaseUrls?: Readonly<Record<string, string>>;
}

/**
 * A fresh database owned by a fresh login role of the same name, for test
 * isolation; returns its DATABASE_URL. `name` defaults to a random `t_<hex>`.
 * Other roles cannot connect to it.
 */
export async function createDatabase(target: PostgresTarget, name?: string): Promise<string> {
  const db = name ?? `t_${randomBytes(6).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  await ensureDatabase(target.superuserUrl, db, db, password);
  const url = postgresUrl(target.port, db, password, db);
  if (target.databaseUrls) (target.databaseUrls as Record<string, string>)[db] = url;
  return url;
}

/**
 * Redis and PostgreSQL shared by one test file: `start()` in beforeAll,
 * `stop()` in afterAll, which first runs what the tests pushed onto `cleanup`
 * (last pushed, first run). `database()` is a fresh database on the shared
 * PostgreSQL; `redisUrl()` a fresh logical Redis database (`/1`, `/2`, …).
 */
export interface TestServers {
  readonly redis: RedisHandle;
  readonly pg: PostgresHandle;
  readonly cleanup: (() => unknown)[];
  start(): Promise<void>;
  stop(): Promise<void>;
  database(): Promise<string>;
  redisUrl(): string;
}

export function testServers(): TestServers {
  let redis: RedisHandle | undefined;
  let pg: PostgresHandle | undefined;
  let nextDb = 1;
  const started = <T>(h: T | undefined): T => {
    if (h === undefined) throw new Error('testServers: call start() (in beforeAll) first');
    return h;
  };
  return {
    get redis() {
      return started(redis);
    },
    get pg() {
      return started(pg);
    },
    cleanup: [],
    async start() {
      [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    },
    async stop() {
      for (const c of this.cleanup.reverse()) await c();
      await Promise.all([redis?.stop(), pg?.stop()]);
    },
    database() {
      return createDatabase(started(pg));
    },
    redisUrl() {
      return `${started(redis).url}/${nextDb++}`;
    },
  };
}

/** A node-less Kubernetes control plane: etcd + kube-apiserver, and kube-controller-manager on demand. */
export interface KubeApiServerHandle {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig for the admin (token in group system:masters), for kubectl --kubeconfig. */
  readonly kubeconfig: string;
  readonly token: string;
  /** The CA of the server's self-made certificate. */
  readonly caFile: string;
  readonly etcd: ServerHandle;
  readonly apiServer: ServerHandle;
  /** Starts kube-controller-manager running `controllers` (its --controllers); stopped with the rest. */
  startControllerManager(controllers: readonly string[]): Promise<ServerHandle>;
  /** Stops them all (controller manager, API server, etcd) and removes their folders. Idempotent. */
  stop(): Promise<void>;
}

/**
 * etcd and kube-apiserver (built by the bootstrap's ensure_kube_tools) on
 * free loopback ports in temporary folders. About 10 s on a 2-core machine.
 */
export async function startKubeApiServer(): Promise<KubeApiServerHandle> {
  reapOrphans();
  const handles: ServerHandle[] = [];
  const stopAll = async () => {
    for (const h of handles.reverse()) await h.stop();
  };
  const started = async (name: string, dir: string, build: (port: number) => ProcessSpec) => {
    try {
      const { process: managed, port } = await startOnPort(undefined, build);
      const handle = handleFor(name, managed.spec.url ?? '', port, dir, managed, {});
      handles.push(handle);
      return handle;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  };
  try {
    const etcdDir = mkdtempSync(path.join(os.tmpdir(), 'bw-etcd-'));
    const peerPort = await freePort();
    const etcd = await started('etcd', etcdDir, (port) =>
      etcdSpec({ port, peerPort, dir: etcdDir, logFile: path.join(etcdDir, 'server.log') }),
    );
    const apiDir = mkdtempSync(path.join(os.tmpdir(), 'bw-kube-apiserver-'));
    const credentials = writeKubeCredentials(path.join(apiDir, 'auth'));
    const apiServer = await started('kube-apiserver', apiDir, (port) =>
      kubeApiServerSpec({
        port,
        etcdUrl: etcd.url,
        dir: apiDir,
        logFile: path.join(apiDir, 'server.log'),
        credentials,
      }),
    );
    const caFile = kubeApiServerCaFile(apiDir);
    const kubeconfig = path.join(apiDir, 'kubeconfig');
    writeKubeconfig(kubeconfig, apiServer.url, caFile, credentials.token);
    let stopped = false;
    return {
      url: apiServer.url,
      kubeconfig,
      token: credentials.token,
      caFile,
      etcd,
      apiServer,
      async startControllerManager(controllers) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-kube-controller-manager-'));
        return started('kube-controller-manager', dir, (port) =>
          kubeControllerManagerSpec({
            port,
            kubeconfig,
            dir,
            logFile: path.join(dir, 'server.log'),
            controllers,
          }),
        );
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export interface CertificateAuthorityHandle extends CertificateAuthority {
  /** Teardown: stops renewals and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The local platform's certificate authority (the same code `up` runs) with
 * its root in a temporary folder: issue identities for processes a test
 * starts with BW_TLS_DIR (mTLS on), or read `caFile` to call them.
 */
export async function startCertificateAuthority(
  o: Omit<CertificateAuthorityOptions, 'dir'> = {},
): Promise<CertificateAuthorityHandle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-ca-'));
  const ca = await CertificateAuthority.start({ ...o, dir });
  return Object.assign(ca, {
    stop: async () => {
      ca.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/**
 * An undici Agent holding a fresh certificate for `id` (a SPIFFE id; default
 * Prometheus's, which may read every service's /metrics) from the CA of a
 * run folder (`<run>/ca`, made by `up`), trusting only that CA. For a test
 * that calls the platform's mTLS services directly. No host name check:
 * mesh certificates carry a SPIFFE id, not a host.
 */
export async function runIdentityAgent(runDir: string, id: SpiffeId = PROMETHEUS_IDENTITY): Promise<Agent> {
  const dir = path.join(runDir, 'ca');
  const root = await loadRootCa(
    readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    readFileSync(path.join(dir, 'ca-key.pem'), 'utf8'),
  );
  const leaf = await root.issue(id, 3_600_000);
  return new Agent({
    connect: { ca: root.cert, cert: leaf.cert, key: leaf.key, checkServerIdentity: () => undefined },
  });
}
