import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/harness.ts';
import { redisProbe } from '../src/readiness.ts';
import { sharedPostgres, sharedRedisUrl } from '../src/shared.ts';

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
