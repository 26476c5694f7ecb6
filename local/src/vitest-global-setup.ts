/**
 * Optional vitest globalSetup (wired in the root vitest.config.ts): one real
 * Redis, one real PostgreSQL and the platform's certificate authority shared
 * by every test file of a run, handed to tests through vitest's
 * provide/inject — read them with `sharedRedisUrl()` / `sharedPostgres()` /
 * `sharedCertificateAuthority()` from `@breakwater/local/shared`.
 *
 * Cheap on purpose (about 0.7 s, both start concurrently, no persistence), and
 * it never fails the run: if the servers cannot start, only the tests that ask
 * for them fail, with the reason.
 */
import type { TestProject } from 'vitest/node';
import { isLocalError } from './errors.ts';
import {
  type CertificateAuthorityHandle,
  type PostgresHandle,
  type RedisHandle,
  startCertificateAuthority,
  startPostgres,
  startRedis,
} from './harness.ts';

export interface SharedServers {
  redisUrl?: string;
  postgres?: { superuserUrl: string; port: number };
  /** The CA's folder (`ca.pem`, `ca-key.pem`): tests issue identities from it. */
  ca?: { dir: string; caFile: string };
  /** Why they are missing. */
  error?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    breakwaterShared: SharedServers;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let redis: RedisHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let ca: CertificateAuthorityHandle | undefined;
  try {
    // No test may crash the shared servers, so PostgreSQL may run with its test-only (fast) settings.
    [redis, postgres, ca] = await Promise.all([
      startRedis(),
      startPostgres({ durability: 'test-only' }),
      startCertificateAuthority(),
    ]);
    project.provide('breakwaterShared', {
      redisUrl: redis.url,
      postgres: { superuserUrl: postgres.superuserUrl, port: postgres.port },
      ca: { dir: ca.dir, caFile: ca.caFile },
    });
  } catch (err) {
    project.provide('breakwaterShared', { error: isLocalError(err) ? err.message : String(err) });
  }
  return async () => {
    await Promise.all([redis?.stop(), postgres?.stop(), ca?.stop()]);
  };
}
