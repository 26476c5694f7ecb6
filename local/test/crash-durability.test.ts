/**
 * What the local platform promises about a crash of its data stores (issue
 * 13): nothing they acknowledged is lost when the process is SIGKILLed. Both
 * servers are started with the platform's own settings (redis.ts,
 * postgres.ts `durable`), written to until the kill, restarted on the same
 * folder and read back.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '../src/harness.ts';

const handles: (RedisHandle | PostgresHandle)[] = [];
afterAll(() => Promise.all(handles.map((h) => h.stop())));

describe('a SIGKILL loses nothing the server acknowledged', () => {
  it('Redis: every XADD answered, the consumer group and its pending entries survive', async () => {
    const redis = await startRedis({ persistent: true });
    handles.push(redis);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    await client.xgroup('CREATE', 'bw:test', 'workers', '0', 'MKSTREAM');
    const acked: string[] = [];
    // Batches of pipelined XADDs, as the outbox relay sends them; each id counts once Redis answered it.
    for (let batch = 0; batch < 40; batch++) {
      const pipe = client.pipeline();
      for (let i = 0; i < 50; i++) pipe.xadd('bw:test', '*', 'n', String(batch * 50 + i));
      for (const [err, id] of (await pipe.exec()) ?? []) if (!err) acked.push(String(id));
    }
    const read = (await client.xreadgroup(
      'GROUP',
      'workers',
      'w1',
      'COUNT',
      100,
      'STREAMS',
      'bw:test',
      '>',
    )) as [string, [string, string[]][]][];
    const delivered = read[0]?.[1].map(([id]) => id) ?? [];
    expect(await client.xack('bw:test', 'workers', ...delivered.slice(0, 40))).toBe(40);
    // The last acknowledged command, then at once a SIGKILL: no graceful shutdown, no rewrite.
    const last = String(await client.xadd('bw:test', '*', 'n', 'last'));
    acked.push(last);
    await redis.kill();
    client.disconnect();

    await redis.restart();
    const after = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const ids = ((await after.xrange('bw:test', '-', '+')) as [string, string[]][]).map(([id]) => id);
      expect(ids.length).toBe(acked.length);
      expect(ids).toEqual(acked);
      const pending = (await after.xpending('bw:test', 'workers')) as [number, string, string, unknown];
      expect(pending[0]).toBe(60);
      expect(pending[1]).toBe(delivered[40]);
      const groups = (await after.xinfo('GROUPS', 'bw:test')) as unknown[][];
      const group = groups[0] ?? [];
      expect(group[group.indexOf('last-delivered-id') + 1]).toBe(delivered[99]);
    } finally {
      after.disconnect();
    }
  });

  it('PostgreSQL (durable): every COMMIT answered before the kill is there after the restart', async () => {
    const postgres = await startPostgres({ databases: ['orders'] });
    handles.push(postgres);
    const url = postgres.databaseUrl('orders');
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query('CREATE TABLE acked (id int PRIMARY KEY, pad text)');
    await setup.end();

    // Eight writers commit as fast as they can; each id counts once its COMMIT returned.
    const committed: number[] = [];
    let next = 0;
    let stop = false;
    const writer = async () => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => {});
      await c.connect();
      try {
        while (!stop) {
          const id = next++;
          await c.query('INSERT INTO acked VALUES ($1, repeat($2, 200))', [id, 'x']);
          committed.push(id);
        }
      } catch {
        // the kill ends every connection; what committed before it is all that counts
      }
    };
    const writers = Array.from({ length: 8 }, writer);
    // Kill in the middle of the writes, not after a quiet moment.
    const deadline = Date.now() + 10_000;
    while (committed.length < 2_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(committed.length).toBeGreaterThan(100);
    await postgres.kill();
    stop = true;
    await Promise.all(writers);
    const answered = [...committed];

    await postgres.restart();
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    try {
      const { rows } = await check.query<{ id: number }>('SELECT id FROM acked WHERE id = ANY($1::int[])', [
        answered,
      ]);
      expect(rows.length).toBe(answered.length);
    } finally {
      await check.end();
    }
  });
});
