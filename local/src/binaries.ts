/**
 * Finds the system binaries the local deployment runs. A missing one is a
 * LOCAL_ERR_MISSING_BINARY whose message names the package to install on
 * Debian/Ubuntu and on macOS (scripts/bootstrap.sh installs them as root).
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalError } from './errors.ts';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable `name` on PATH, or undefined. */
export function which(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

function compareVersionsDesc(a: string, b: string): number {
  return b.localeCompare(a, 'en', { numeric: true });
}

/** Candidate PostgreSQL bin dirs, best first: PATH, then Debian's and Homebrew's versioned dirs. */
function postgresBinDirs(): string[] {
  const dirs: string[] = [];
  const onPath = which('initdb');
  if (onPath) dirs.push(path.dirname(onPath));
  for (const base of ['/usr/lib/postgresql', '/opt/homebrew/opt', '/usr/local/opt']) {
    let names: string[] = [];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    const versions = names.filter((n) => base === '/usr/lib/postgresql' || n.startsWith('postgresql'));
    for (const v of versions.sort(compareVersionsDesc)) dirs.push(path.join(base, v, 'bin'));
  }
  return dirs;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  binDir: string;
}

export function findPostgres(): PostgresBinaries {
  for (const binDir of postgresBinDirs()) {
    const initdb = path.join(binDir, 'initdb');
    const postgres = path.join(binDir, 'postgres');
    if (isExecutable(initdb) && isExecutable(postgres)) return { initdb, postgres, binDir };
  }
  throw new LocalError(
    'LOCAL_ERR_MISSING_BINARY',
    'postgres/initdb not found: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15)',
  );
}

export function findRedisServer(): string {
  const found = which('redis-server');
  if (found) return found;
  throw new LocalError(
    'LOCAL_ERR_MISSING_BINARY',
    'redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
  );
}

/** Prometheus is optional for `up`: undefined when not installed. */
export function findPrometheus(): string | undefined {
  return which('prometheus');
}

export const PROMETHEUS_MISSING =
  'prometheus not found: install it to get metrics (Debian/Ubuntu: apt-get install prometheus; macOS: brew install prometheus)';

export interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/**
 * PostgreSQL refuses to run as root. When we are root (containers, CI), run
 * initdb and postgres as the `postgres` user the Debian package creates, or
 * `nobody` as a last resort; otherwise as ourselves (undefined).
 */
export function postgresRunAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // fall through to the error below
  }
  const users = new Map<string, RunAs>();
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user && uid && gid) users.set(user, { user, uid: Number(uid), gid: Number(gid) });
  }
  const chosen = users.get('postgres') ?? users.get('nobody');
  if (chosen) return chosen;
  throw new LocalError(
    'LOCAL_ERR_RUN_AS',
    'PostgreSQL cannot run as root and there is no "postgres" user: run as a normal user or create one (useradd -r postgres)',
  );
}
