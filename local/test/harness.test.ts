import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  type PostgresHandle,
  type RedisHandle,
  startPostgres,
  startRedis,
} from '../src/harness.ts';
import { pidAlive } from '../src/stale.ts';

/** One RESP command over a raw socket, so the harness test does not depend on a client library's retries. */
function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis command timed out')));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      const lines = answer.split('\r\n');
      const complete = answer.startsWith('$')
        ? lines.length >= 3 || answer.startsWith('$-1')
        : lines.length >= 2;
      if (complete) {
        socket.end();
        resolve(
          answer.startsWith('$-1') ? '(nil)' : answer.startsWith('$') ? (lines[1] ?? '') : (lines[0] ?? ''),
        );
      }
    });
  });
}

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe('harness', () => {
  let redis: RedisHandle;
  let postgres: PostgresHandle;

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres({ databases: ['catalog'] })]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  it('gives a real Redis that stores and returns a value', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redisCommand(redis.port, 'SET', 'k', 'v1')).toBe('+OK');
    expect(await redisCommand(redis.port, 'GET', 'k')).toBe('v1');
  });

  it('gives a real PostgreSQL with the requested database owned by its own role', async () => {
    const url = postgres.databaseUrl('catalog');
    expect(url).toMatch(/^postgres:\/\/catalog:[^@]+@127\.0\.0\.1:\d+\/catalog$/);
    await sql(url, 'CREATE TABLE product (id int primary key, name text)');
    await sql(url, "INSERT INTO product VALUES (1, 'anchor')");
    const { rows } = await sql(url, 'SELECT name, current_user AS who FROM product');
    expect(rows).toEqual([{ name: 'anchor', who: 'catalog' }]);
  });

  it('createDatabase isolates: a fresh database whose role cannot read another database', async () => {
    const a = await createDatabase(postgres);
    const b = await createDatabase(postgres, 'isolated_b');
    expect(a).not.toBe(b);
    await sql(a, 'CREATE TABLE t (x int)');
    await expect(sql(b, 'SELECT * FROM t')).rejects.toThrow(/does not exist/);
    const other = new URL(b);
    other.pathname = '/catalog';
    await expect(sql(other.toString(), 'SELECT 1')).rejects.toThrow(/permission denied|not have CONNECT/i);
  });

  it('kill takes the server down and restart brings it back on the same port', async () => {
    const pid = redis.pid;
    expect(pid).toBeTypeOf('number');
    await redis.kill();
    expect(redis.pid).toBeUndefined();
    expect(pidAlive(pid as number)).toBe(false);
    await expect(redisCommand(redis.port, 'PING')).rejects.toThrow();
    await redis.restart();
    expect(await redisCommand(redis.port, 'PING')).toBe('+PONG');
  });

  it('pause makes PostgreSQL hang and resume makes it answer again', async () => {
    postgres.pause();
    const client = new pg.Client({ connectionString: postgres.superuserUrl, connectionTimeoutMillis: 300 });
    client.on('error', () => {});
    await expect(client.connect()).rejects.toThrow(/timeout/i);
    postgres.resume();
    const { rows } = await sql(postgres.superuserUrl, 'SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('PostgreSQL survives a SIGKILL with its data', async () => {
    const url = postgres.databaseUrl('catalog');
    await postgres.kill();
    await postgres.restart();
    const { rows } = await sql(url, 'SELECT count(*)::int AS n FROM product');
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('stop removes the process and the folder', async () => {
    const extra = await startRedis();
    const pid = extra.pid as number;
    await extra.stop();
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(extra.dir)).toBe(false);
  });
});

describe('harness safety nets', () => {
  it('reaps the servers of a test process that was SIGKILLed', async () => {
    const { spawn } = await import('node:child_process');
    const { reapOrphans } = await import('../src/harness.ts');
    const { pidRunning } = await import('../src/stale.ts');
    const harness = new URL('../src/harness.ts', import.meta.url).pathname;
    const script = `const h = await import(${JSON.stringify(harness)}); const r = await h.startRedis(); console.log(JSON.stringify({ pid: r.pid, dir: r.dir })); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('child did not start redis in 20 s')), 20_000);
      child.stdout?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(text.split('\n')[0] ?? '');
        }
      });
    });
    const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
    expect(pidRunning(pid)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(pidRunning(pid)).toBe(true); // the orphan outlives its test process…
    expect(reapOrphans()).toBeGreaterThanOrEqual(1); // …until the next harness start reaps it
    const deadline = Date.now() + 5_000;
    while (pidRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pidRunning(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
