/**
 * The run-wide Redis and PostgreSQL started by the vitest globalSetup
 * (`local/src/vitest-global-setup.ts`). Use them for tests that do not inject
 * faults; a test that kills, pauses or restarts a server starts its own with
 * `startRedis()` / `startPostgres()` from `@breakwater/local/harness`.
 *
 *   const pg = sharedPostgres();
 *   const url = await createDatabase(pg);   // own database + role: no test sees another's data
 *   const redisUrl = sharedRedisUrl();      // share it: prefix keys per test
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadRootCa, type RootCa } from '@breakwater/mesh/identity/issuer';
import { inject } from 'vitest';
import type { PostgresTarget } from './harness.ts';

function shared() {
  const servers = inject('breakwaterShared');
  if (!servers) {
    throw new Error(
      'no shared servers: run through the root vitest.config.ts (its globalSetup starts them), or use startRedis()/startPostgres()',
    );
  }
  return servers;
}

/** redis://127.0.0.1:<port> of the run's shared Redis. */
export function sharedRedisUrl(): string {
  const { redisUrl, error } = shared();
  if (!redisUrl) throw new Error(`the shared Redis did not start: ${error ?? 'unknown reason'}`);
  return redisUrl;
}

/** The run's shared PostgreSQL: pass it to createDatabase() for an isolated database. */
export function sharedPostgres(): PostgresTarget & { databaseUrls: Record<string, string> } {
  const { postgres, error } = shared();
  if (!postgres) throw new Error(`the shared PostgreSQL did not start: ${error ?? 'unknown reason'}`);
  return { ...postgres, databaseUrls: {} };
}

/**
 * The run's shared certificate authority (the platform's, started by the
 * globalSetup): `issue(spiffeId, lifetimeMs)` makes a certificate the
 * platform's servers trust; `caFile` is its root.
 */
export async function sharedCertificateAuthority(): Promise<RootCa & { caFile: string }> {
  const { ca, error } = shared();
  if (!ca) throw new Error(`the shared certificate authority did not start: ${error ?? 'unknown reason'}`);
  const root = await loadRootCa(
    readFileSync(ca.caFile, 'utf8'),
    readFileSync(path.join(ca.dir, 'ca-key.pem'), 'utf8'),
  );
  return Object.assign(root, { caFile: ca.caFile });
}
