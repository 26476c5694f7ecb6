import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spiffeId } from '@breakwater/mesh/identity';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/harness.ts';
import { redisProbe } from '../src/readiness.ts';
import { sharedCertificateAuthority, sharedPostgres, sharedRedisUrl } from '../src/shared.ts';

describe('shared servers from the vitest globalSetup', () => {
  it('provides a live Redis', async () => {
    const url = new URL(sharedRedisUrl());
    expect(url.hostname).toBe('127.0.0.1');
    expect(await redisProbe(Number(url.port)).check(AbortSignal.timeout(2_000))).toBe(true);
  });

  it('provides a PostgreSQL where createDatabase gives an isolated database', async () => {
    const target = sharedPostgres();
    const url = await createDatabase(target);
    expect(target.databaseUrls[new URL(url).pathname.slice(1)]).toBe(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT current_database() = current_user AS own');
      expect(rows).toEqual([{ own: true }]);
    } finally {
      await client.end();
    }
  });
});

describe('sharedCertificateAuthority', () => {
  it("issues certificates chained to the run's shared root", async () => {
    const ca = await sharedCertificateAuthority();
    const leaf = await ca.issue(spiffeId('orders'), 60_000);
    const x = new X509Certificate(leaf.cert);
    expect(x.subjectAltName).toBe('URI:spiffe://cluster.local/ns/breakwater/sa/orders');
    expect(x.verify(new X509Certificate(readFileSync(ca.caFile)).publicKey)).toBe(true);
  });
});
