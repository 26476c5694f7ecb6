/**
 * One PostgreSQL instance: a data folder created with initdb on first start,
 * a postgres process on a loopback port, and a database plus a login role per
 * owner created (idempotently) once it is ready.
 *
 * Durability (issue 13): by default an instance runs with PostgreSQL's own
 * durable settings — synchronous_commit, fsync and full_page_writes on — so
 * a commit PostgreSQL acknowledged survives a SIGKILL of the postmaster *and*
 * a crash of the machine. The old local settings turned all three off and
 * claimed a SIGKILL loses nothing; that was false. With synchronous_commit
 * off a COMMIT returns (and the row is visible to other sessions, e.g. the
 * outbox relay) before its WAL record has left PostgreSQL's shared memory;
 * killing the postmaster drops that memory, so an order answered 202 — and
 * already published and charged — vanished on restart. See POSTGRES_SETTINGS
 * for what each setting protects and costs, and `durability` for the only
 * exceptions (the test-only shared server, and BW_PG_UNSAFE=1 which brings
 * the old settings back to demonstrate that failure).
 *
 * Unix sockets are off (TCP on 127.0.0.1 only), so nothing depends on
 * /var/run/postgresql or on socket path length limits.
 *
 * When we run as root (containers), initdb and postgres run as the `postgres`
 * user, because PostgreSQL refuses root; the instance folder is chowned to it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPostgres, postgresRunAs, type RunAs } from './binaries.ts';
import { LocalError } from './errors.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { postgresProbe } from './readiness.ts';
import { processCommandLine } from './stale.ts';

export const SUPERUSER = 'postgres';

/**
 * How much an instance may lose, in exchange for speed:
 * - `durable` (the default): nothing PostgreSQL acknowledged is lost, on a
 *   process crash or a machine crash.
 * - `test-only`: for test databases that no test crashes (the one shared
 *   server of a vitest run, local/src/vitest-global-setup.ts): faster, and a
 *   crash may lose or corrupt anything — nobody crashes them.
 * - `unsafe`: the old local settings (same as `test-only`), only to show what
 *   the crash drills catch (`BW_PG_UNSAFE=1 npm run drill -- db-crash` fails).
 */
export type PostgresDurability = 'durable' | 'test-only' | 'unsafe';

/**
 * The settings behind each durability level, in this one place.
 *
 * - `synchronous_commit=on`: COMMIT returns only once its WAL is written
 *   *and* flushed, and only then do other sessions see the rows. Off, a
 *   commit is acknowledged from shared memory and up to 3 × wal_writer_delay
 *   (600 ms) of commits die with the postmaster. This is the one that matters
 *   for a process crash.
 * - `fsync=on`: the flush above is an fsync, so the WAL is on disk rather
 *   than in the kernel's page cache. A SIGKILL of postgres leaves the page
 *   cache intact, so for a *process* crash fsync alone cannot lose data; a
 *   machine crash or power loss can then lose commits or corrupt the whole
 *   cluster. A laptop that sleeps or runs out of battery is a machine crash,
 *   so it stays on (cost: one fsync per commit group, see README "Durability").
 * - `full_page_writes=on`: the first change of a page after a checkpoint
 *   logs the whole page, so recovery can repair a page torn by a partial
 *   write. A process kill can tear one too: Linux checks for a fatal signal
 *   between the 4 KiB pages of one write(), so an 8 KiB page written by a
 *   SIGKILLed checkpointer or backend can be half old, half new.
 */
export const POSTGRES_SETTINGS: Readonly<Record<PostgresDurability, Readonly<Record<string, string>>>> = {
  durable: { synchronous_commit: 'on', fsync: 'on', full_page_writes: 'on' },
  'test-only': { synchronous_commit: 'off', fsync: 'off', full_page_writes: 'off' },
  unsafe: { synchronous_commit: 'off', fsync: 'off', full_page_writes: 'off' },
};

/** `durable` unless BW_PG_UNSAFE=1 (for demonstrating the crash drills' failure only). */
export function defaultDurability(env: NodeJS.ProcessEnv = process.env): PostgresDurability {
  return env.BW_PG_UNSAFE === '1' ? 'unsafe' : 'durable';
}

function settingArgs(durability: PostgresDurability): string[] {
  return Object.entries(POSTGRES_SETTINGS[durability]).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Database and role names: lower-case SQL identifiers, so they need no quoting anywhere. */
export function assertIdentifier(name: string, what: string): void {
  if (!IDENTIFIER.test(name)) {
    throw new LocalError(
      'LOCAL_ERR_BAD_INPUT',
      `${what} "${name}" is not a valid name: use lower-case letters, digits and _ (max 63, not starting with a digit)`,
    );
  }
}

export interface Credentials {
  superuserPassword: string;
  /** role → password */
  roles: Record<string, string>;
}

export interface DatabaseSpec {
  /** Database name; the role defaults to the same name. */
  name: string;
  role?: string;
}

export interface PostgresOptions {
  name: string;
  /** Instance folder: data/ and credentials.json live here. */
  dir: string;
  port: number;
  logFile: string;
  databases?: readonly DatabaseSpec[];
  readyTimeoutMs?: number;
  tier?: number;
  portHint?: string;
  /** Told when a stale postmaster.pid was removed. */
  onRecovered?: (message: string) => void;
  /** Default: {@link defaultDurability} (`durable` unless BW_PG_UNSAFE=1). */
  durability?: PostgresDurability;
}

export interface PostgresInstance {
  readonly spec: ProcessSpec;
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly credentials: Credentials;
  /** The superuser's URL to the `postgres` database. */
  readonly superuserUrl: string;
  /** URL of database `name` as its own role. */
  databaseUrl(name: string): string;
  readonly runAs: RunAs | undefined;
  readonly durability: PostgresDurability;
}

export function postgresUrl(port: number, user: string, password: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${LOOPBACK}:${port}/${encodeURIComponent(database)}`;
}

function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

function loadCredentials(file: string): Credentials {
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
      if (typeof parsed.superuserPassword === 'string' && parsed.roles && typeof parsed.roles === 'object') {
        return parsed;
      }
    } catch {
      // fall through: rewritten below, and initdb is redone if the data folder is also missing
    }
  }
  return { superuserPassword: newPassword(), roles: {} };
}

function saveCredentials(file: string, credentials: Credentials): void {
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Runs a command to completion, appending its output to the log; rejects with the output on failure. */
function run(command: string, args: string[], logFile: string, runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        writeFileSync(logFile, `${output}\n`, { flag: 'a' });
      } catch {
        // the log is a convenience here; the error below carries the output anyway
      }
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(command)} exited with code ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
    });
  });
}

/**
 * The `postgres` user must be able to traverse every folder above the instance.
 * Temporary folders we made (mode 0700) get o+x (traverse only, no listing);
 * anything else that blocks it is an error naming the folder.
 */
function ensureReachable(dir: string, runAs: RunAs): void {
  const tmp = path.resolve(os.tmpdir());
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const st = statSync(parent);
    const reachable =
      (st.mode & 0o001) !== 0 ||
      (st.uid === runAs.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === runAs.gid && (st.mode & 0o010) !== 0);
    if (!reachable) {
      if (parent.startsWith(`${tmp}${path.sep}`) && st.uid === process.getuid?.())
        chmodSync(parent, st.mode | 0o001);
      else {
        throw new LocalError(
          'LOCAL_ERR_RUN_AS',
          `PostgreSQL runs as user ${runAs.user}, which cannot reach ${dir}: ${parent} is not searchable by others; use a run folder it can reach (--run-dir)`,
        );
      }
    }
    if (path.dirname(parent) === parent) return;
  }
}

function ensureOwnedDir(dir: string, runAs: RunAs | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (runAs) ensureReachable(dir, runAs);
  chmodSync(dir, 0o700);
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
}

/** Removes a postmaster.pid whose process is gone (a killed run); refuses if a postgres still owns it. */
export function clearStalePostmasterPid(dataDir: string): string | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) {
    const cmdline = processCommandLine(pid);
    if (cmdline?.includes('postgres') && cmdline.includes(dataDir)) {
      throw new LocalError(
        'LOCAL_ERR_ALREADY_RUNNING',
        `PostgreSQL data folder ${dataDir} is in use by pid ${pid}: stop that run (node local/src/cli.ts stop) or kill ${pid}, then start again`,
      );
    }
  }
  rmSync(pidFile, { force: true });
  return `removed stale ${pidFile} (pid ${pid} is gone)`;
}

export async function ensureDatabase(
  superuserUrl: string,
  database: string,
  role: string,
  password: string,
): Promise<void> {
  assertIdentifier(database, 'database');
  assertIdentifier(role, 'role');
  const client = new pg.Client({ connectionString: superuserUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const literal = client.escapeLiteral(password);
    const roleExists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (roleExists.rowCount === 0) await client.query(`CREATE ROLE ${role} LOGIN PASSWORD ${literal}`);
    else await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${literal}`);
    const dbExists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (dbExists.rowCount === 0) await client.query(`CREATE DATABASE ${database} OWNER ${role}`);
    // No service reads another's database: only the owner (and the superuser) may connect.
    await client.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
  } finally {
    await client.end().catch(() => {});
  }
}

export function postgresInstance(options: PostgresOptions): PostgresInstance {
  const bins = findPostgres();
  const runAs = postgresRunAs();
  const dir = path.resolve(options.dir);
  const dataDir = path.join(dir, 'data');
  const credentialsFile = path.join(dir, 'credentials.json');
  const durability = options.durability ?? defaultDurability();
  ensureOwnedDir(dir, runAs);
  const credentials = loadCredentials(credentialsFile);
  const databases = (options.databases ?? []).map((d) => ({ name: d.name, role: d.role ?? d.name }));
  for (const d of databases) {
    assertIdentifier(d.name, 'database');
    assertIdentifier(d.role, 'role');
    credentials.roles[d.role] ??= newPassword();
  }
  saveCredentials(credentialsFile, credentials);
  const superuserUrl = postgresUrl(options.port, SUPERUSER, credentials.superuserPassword, 'postgres');

  const prepare = async () => {
    ensureOwnedDir(dir, runAs);
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      rmSync(dataDir, { recursive: true, force: true }); // a half-made folder from an interrupted initdb
      const pwfile = path.join(dir, 'initdb-password');
      writeFileSync(pwfile, `${credentials.superuserPassword}\n`, { mode: 0o600 });
      if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
      try {
        await run(
          bins.initdb,
          [
            '-D',
            dataDir,
            '-U',
            SUPERUSER,
            `--pwfile=${pwfile}`,
            '--auth-local=trust',
            '--auth-host=scram-sha-256',
            '-E',
            'UTF8',
            '--locale=C',
            '--no-sync',
          ],
          options.logFile,
          runAs,
        );
      } catch (err) {
        throw new LocalError(
          'LOCAL_ERR_EXITED',
          `initdb for ${options.name} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    const recovered = clearStalePostmasterPid(dataDir);
    if (recovered) options.onRecovered?.(recovered);
  };

  const afterReady = async () => {
    for (const d of databases) {
      await ensureDatabase(superuserUrl, d.name, d.role, credentials.roles[d.role] ?? '');
    }
  };

  const spec: ProcessSpec = {
    name: options.name,
    kind: 'postgres',
    command: bins.postgres,
    args: [
      '-D',
      dataDir,
      '-p',
      String(options.port),
      '-c',
      `listen_addresses=${LOOPBACK}`,
      '-c',
      'unix_socket_directories=',
      ...settingArgs(durability),
      '-c',
      'shared_buffers=16MB',
      '-c',
      'max_connections=100',
    ],
    port: options.port,
    url: superuserUrl.replace(/:[^:@/]*@/, ':***@'),
    logFile: options.logFile,
    ready: postgresProbe(superuserUrl, options.port),
    stopSignal: 'SIGINT', // fast shutdown: roll back open transactions, checkpoint, exit
    prepare,
    afterReady,
    ...(runAs ? { runAs } : {}),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.tier !== undefined ? { tier: options.tier } : {}),
    ...(options.portHint !== undefined ? { portHint: options.portHint } : {}),
  };

  return {
    spec,
    port: options.port,
    dir,
    dataDir,
    credentials,
    superuserUrl,
    runAs,
    durability,
    databaseUrl(name: string) {
      const d = databases.find((x) => x.name === name);
      const role = d?.role ?? name;
      const password = credentials.roles[role];
      if (password === undefined) {
        throw new LocalError('LOCAL_ERR_BAD_INPUT', `${options.name} has no database "${name}"`);
      }
      return postgresUrl(options.port, role, password, name);
    },
  };
}
