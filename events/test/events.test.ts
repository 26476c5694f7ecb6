import { randomUUID } from 'node:crypto';
import { DATA_SCHEMAS, EVENT_TYPES, SOURCES } from '@breakwater/contracts';
import envelopeSchema from '@breakwater/contracts/envelope.schema.json' with { type: 'json' };
import { testServers } from '@breakwater/local/harness';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventHandler, StreamConsumer, type StreamConsumerOptions } from '../src/consumer.ts';
import { listDeadLetters, replayDeadLetters } from '../src/dead-letters.ts';
import { createEvent, envelopeJsonSchema, parseEnvelope } from '../src/envelope.ts';
import { claimEvent } from '../src/inbox.ts';
import type { EventMetrics } from '../src/metrics.ts';
import { enqueueEvent, OutboxRelay, outboxBacklog } from '../src/outbox.ts';
import { createPgPool, runMigrations } from '../src/postgres.ts';
import { createStreamRedis, waitReady } from '../src/redis.ts';
import { until as pollUntil } from '../src/testing.ts';
import { activeTraceparent } from '../src/trace-context.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000) =>
  pollUntil(what, fn, timeoutMs);

function recordingMetrics() {
  const seen = { dead: [] as string[], processed: [] as string[], reclaimed: 0, backlog: -1, published: 0 };
  const m: EventMetrics = {
    outboxBacklog: (n) => {
      seen.backlog = n;
    },
    outboxPublished: (_s, n) => {
      seen.published += n;
    },
    streamLag: () => {},
    streamPending: () => {},
    processed: (_s, _g, _t, outcome) => seen.processed.push(outcome),
    deadLetter: (_s, _g, reason) => seen.dead.push(reason),
    reclaimed: (_s, _g, n) => {
      seen.reclaimed += n;
    },
  };
  return { m, seen };
}

const placed = (orderId = randomUUID()) =>
  createEvent({
    type: EVENT_TYPES.orderPlaced,
    source: SOURCES.orders,
    subject: orderId,
    data: {
      orderId,
      customerId: 'c-1',
      reservationId: randomUUID(),
      amountCents: 1200,
      currency: 'EUR',
      items: [{ productId: 'sku-0001', quantity: 1, unitPriceCents: 1200 }],
    },
  });

describe('event envelope', () => {
  it('the committed JSON schema is the one generated from the zod schema', () => {
    const committed = structuredClone(envelopeSchema);
    expect(committed).toEqual(JSON.parse(JSON.stringify(envelopeJsonSchema(DATA_SCHEMAS))));
  });

  it('the JSON schema accepts real events and rejects broken ones (ajv, draft 2020-12)', () => {
    const schema = structuredClone(envelopeSchema);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const ev = placed();
    expect(validate(ev), JSON.stringify(validate.errors)).toBe(true);
    const data = ajv.compile({ ...schema.$defs['breakwater.order.placed@1'], $schema: undefined });
    expect(data(ev.data)).toBe(true);
    expect(data({ ...ev.data, amountCents: -1 })).toBe(false);
    expect(validate({ ...ev, time: 'yesterday' })).toBe(false);
    expect(validate({ ...ev, dataversion: 1 })).toBe(false);
    const { id: _id, ...noId } = ev;
    expect(validate(noId)).toBe(false);
  });

  it('parses a valid envelope and refuses broken ones with a reason', () => {
    const ok = parseEnvelope(JSON.stringify(placed()));
    expect(ok.ok).toBe(true);
    expect(parseEnvelope('{not json')).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(parseEnvelope(JSON.stringify({ ...placed(), specversion: '0.3' }))).toMatchObject({
      ok: false,
      reason: 'invalid_envelope',
    });
    expect(parseEnvelope(undefined)).toMatchObject({ ok: false, reason: 'unparseable' });
  });
});

describe('outbox relay and stream consumer (real Redis and PostgreSQL)', () => {
  const servers = testServers();
  const pools: pg.Pool[] = [];
  let redis: Redis;

  beforeAll(async () => {
    // What the telemetry SDK does in a service: an active context follows async work.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    await servers.start();
    servers.cleanup.push(() => Promise.all(pools.map((p) => p.end())));
    redis = createStreamRedis(servers.redis.url);
    await waitReady(redis);
    servers.cleanup.push(() => redis.disconnect());
  });
  afterAll(() => servers.stop());

  /** A fast-polling consumer of `stream` (group `g`) handling order.placed with `onPlaced`; `o` adds or overrides options. */
  const orderConsumer = (stream: string, onPlaced: EventHandler, o: Partial<StreamConsumerOptions> = {}) =>
    new StreamConsumer({
      redis,
      stream,
      group: 'g',
      blockMs: 100,
      handlers: { [EVENT_TYPES.orderPlaced]: onPlaced },
      dataSchemas: DATA_SCHEMAS,
      metrics: recordingMetrics().m,
      ...o,
    });

  async function freshDb(): Promise<pg.Pool> {
    const url = await servers.database();
    await runMigrations({ databaseUrl: url, dir: MIGRATIONS_DIR });
    const pool = createPgPool(url);
    pools.push(pool);
    return pool;
  }

  it('publishes committed rows only, marks them sent after XADD, and rows wait while Redis is down', async () => {
    const pool = await freshDb();
    const stream = `t:${randomUUID()}`;
    const { m, seen } = recordingMetrics();
    const relayRedis = createStreamRedis(servers.redis.url, { commandTimeoutMs: 500 });
    const relay = new OutboxRelay({ pool, redis: relayRedis, pollMs: 20, metrics: m });

    // A rolled-back transaction leaves no event.
    const c = await pool.connect();
    await c.query('BEGIN');
    await enqueueEvent(c, stream, placed());
    await c.query('ROLLBACK');
    const committed = placed();
    await c.query('BEGIN');
    await enqueueEvent(c, stream, committed);
    await c.query('COMMIT');
    c.release();

    await waitReady(relayRedis);
    relay.start();
    await until('row published', async () => (await outboxBacklog(pool)) === 0);
    const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
    expect(entries).toHaveLength(1);
    expect(JSON.parse(entries[0]?.[1][3] ?? '{}').id).toBe(committed.id);

    await servers.redis.kill();
    for (let i = 0; i < 5; i++) await enqueueEvent(pool, stream, placed());
    // Rows wait while Redis is away: give the relay several turns.
    await new Promise((r) => setTimeout(r, 600));
    expect(await outboxBacklog(pool)).toBe(5);
    await servers.redis.restart();
    await until('backlog drained', async () => (await outboxBacklog(pool)) === 0, 20_000);
    await relay.stop();
    relayRedis.disconnect();
    await waitReady(redis, 10_000);
    // Redis was not persistent, so the stream restarted empty: exactly the 5 waiting rows arrive.
    expect(await redis.xlen(stream)).toBe(5);
    expect(seen.backlog).toBe(0);
    expect(seen.published).toBe(6);
  });

  it('migrations started by several replicas at once all succeed, and run once', async () => {
    const url = await servers.database();
    const runs = await Promise.all(
      [1, 2, 3].map(() => runMigrations({ databaseUrl: url, dir: MIGRATIONS_DIR })),
    );
    expect(runs.flat()).toEqual(['001_events']);
    const pool = createPgPool(url);
    pools.push(pool);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM pgmigrations');
    expect(rows[0].n).toBe(1);
  });

  it('prunes published outbox rows and inbox rows past their retention', async () => {
    const pool = await freshDb();
    await pool.query(
      `INSERT INTO processed_events (consumer_group, event_id, processed_at)
       VALUES ('g', 'old', now() - interval '2 hours'), ('g', 'new', now())`,
    );
    await enqueueEvent(pool, `t:${randomUUID()}`, placed());
    await pool.query(`UPDATE outbox SET published_at = now() - interval '2 hours'`);
    await enqueueEvent(pool, `t:${randomUUID()}`, placed());
    const r = createStreamRedis(servers.redis.url);
    await waitReady(r);
    const relay = new OutboxRelay({
      pool,
      redis: r,
      retainPublishedMs: 3_600_000,
      retainInboxMs: 3_600_000,
      metrics: recordingMetrics().m,
    });
    expect(await relay.publishBatch()).toBe(1);
    r.disconnect();
    const inbox = await pool.query('SELECT event_id FROM processed_events ORDER BY event_id');
    expect(inbox.rows.map((x) => x.event_id)).toEqual(['new']);
    const outbox = await pool.query('SELECT count(*)::int AS n FROM outbox');
    expect(outbox.rows[0].n).toBe(1);
  });

  it('two relays on one outbox publish every row exactly once, and a new relay picks up what a stopped one left', async () => {
    const pool = await freshDb();
    const stream = `t:${randomUUID()}`;
    for (let i = 0; i < 300; i++) await enqueueEvent(pool, stream, placed());
    const r1 = createStreamRedis(servers.redis.url);
    const r2 = createStreamRedis(servers.redis.url);
    await Promise.all([waitReady(r1), waitReady(r2)]);
    const quiet = recordingMetrics().m;
    const a = new OutboxRelay({ pool, redis: r1, batchSize: 7, pollMs: 10, metrics: quiet });
    const b = new OutboxRelay({ pool, redis: r2, batchSize: 11, pollMs: 10, metrics: quiet });
    a.start();
    b.start();
    await until('half published', async () => (await outboxBacklog(pool)) < 150);
    await a.stop(); // "restart": a new relay takes over where this one stopped
    const c = new OutboxRelay({ pool, redis: r1, pollMs: 10, metrics: quiet });
    c.start();
    await until('all published', async () => (await outboxBacklog(pool)) === 0);
    await Promise.all([b.stop(), c.stop()]);
    r1.disconnect();
    r2.disconnect();
    const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
    const ids = entries.map(([, f]) => JSON.parse(f[f.indexOf('event') + 1] ?? '{}').id);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
  });

  it('dead-letters what it cannot parse, with the reason, and keeps consuming', async () => {
    const stream = `t:${randomUUID()}`;
    const handled: string[] = [];
    const { m, seen } = recordingMetrics();
    const consumer = orderConsumer(
      stream,
      async (e) => {
        handled.push(e.id);
        return 'ok';
      },
      { metrics: m },
    );
    await redis.xadd(stream, '*', 'event', '{broken');
    const badData = placed();
    (badData.data as Record<string, unknown>).amountCents = 'lots';
    await redis.xadd(stream, '*', 'event', JSON.stringify(badData));
    await redis.xadd(stream, '*', 'event', JSON.stringify({ ...placed(), dataversion: '9' }));
    const good = placed();
    await redis.xadd(stream, '*', 'event', JSON.stringify(good));
    consumer.start();
    await until('good event handled', async () => handled.includes(good.id));
    await consumer.stop();
    const dlq = (await redis.xrange(consumer.deadLetterStream, '-', '+')) as [string, string[]][];
    const reasons = dlq.map(([, f]) => f[f.indexOf('reason') + 1]);
    expect(reasons).toEqual(['unparseable', 'invalid_data', 'unsupported_version']);
    expect(seen.dead).toEqual(reasons);
    const info = await consumer.sampleMetrics();
    expect(info).toEqual({ lag: 0, pending: 0 });
  });

  it('reclaims an entry a dead consumer left pending; the effect happens once', async () => {
    const pool = await freshDb();
    const stream = `t:${randomUUID()}`;
    const group = 'workers';
    const ev = placed();
    let traceIdSeen: string | undefined;
    const handler = async (e: { id: string }) => {
      traceIdSeen = trace.getSpanContext(context.active())?.traceId;
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        if (!(await claimEvent(c, group, e.id))) {
          await c.query('ROLLBACK');
          return 'duplicate' as const;
        }
        await c.query('INSERT INTO effects (event_id, n) VALUES ($1, 1)', [e.id]);
        await c.query('COMMIT');
        return 'ok' as const;
      } finally {
        c.release();
      }
    };
    // Put a trace context on the event as a producer inside a span would.
    ev.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    await redis.xadd(stream, '*', 'event', JSON.stringify(ev));
    // A consumer that reads and dies before acknowledging.
    const read = await redis.xreadgroup('GROUP', group, 'dead-one', 'COUNT', 10, 'STREAMS', stream, '>');
    expect(read).not.toBeNull();
    const { m, seen } = recordingMetrics();
    const survivor = new StreamConsumer({
      redis,
      stream,
      group,
      consumer: 'survivor',
      blockMs: 100,
      claimIdleMs: 200,
      claimIntervalMs: 100,
      handlers: { [EVENT_TYPES.orderPlaced]: handler },
      dataSchemas: DATA_SCHEMAS,
      metrics: m,
    });
    survivor.start();
    await until('reclaimed and acknowledged', async () => (await survivor.sampleMetrics())?.pending === 0);
    // Redelivery of the same event (e.g. the outbox published it twice) is a duplicate.
    await redis.xadd(stream, '*', 'event', JSON.stringify(ev));
    await until('duplicate seen', async () => seen.processed.includes('duplicate'));
    await survivor.stop();
    expect(seen.reclaimed).toBe(1);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM effects WHERE event_id = $1', [ev.id]);
    expect(rows[0].n).toBe(1);
    expect(traceIdSeen).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('handles up to `concurrency` entries at once, and every entry once', async () => {
    const stream = `t:${randomUUID()}`;
    let inFlight = 0;
    let peak = 0;
    const handled: string[] = [];
    const consumer = orderConsumer(
      stream,
      async (e) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight--;
        handled.push(e.id);
        return 'ok';
      },
      { concurrency: 4 },
    );
    for (let i = 0; i < 12; i++) await redis.xadd(stream, '*', 'event', JSON.stringify(placed()));
    consumer.start();
    await until('all handled', async () => handled.length === 12);
    await consumer.stop();
    expect(peak).toBe(4);
    expect(new Set(handled).size).toBe(12);
    expect((await consumer.sampleMetrics())?.pending).toBe(0);
  });

  it('moves an entry whose handler keeps failing to the dead-letter stream after maxAttempts', async () => {
    const stream = `t:${randomUUID()}`;
    let calls = 0;
    const { m, seen } = recordingMetrics();
    const consumer = orderConsumer(
      stream,
      async () => {
        calls++;
        throw new Error('processor down');
      },
      { claimIdleMs: 50, claimIntervalMs: 50, maxAttempts: 3, metrics: m },
    );
    await redis.xadd(stream, '*', 'event', JSON.stringify(placed()));
    consumer.start();
    await until('dead-lettered', async () => (await redis.xlen(consumer.deadLetterStream)) === 1);
    await consumer.stop();
    expect(calls).toBe(3);
    expect(seen.dead).toEqual(['max_attempts']);
    const dead = (await redis.xrange(consumer.deadLetterStream, '-', '+')) as [string, string[]][];
    const fields = dead[0]?.[1] ?? [];
    expect(fields[fields.indexOf('detail') + 1]).toBe('processor down');
    expect((await consumer.sampleMetrics())?.pending).toBe(0);
  });

  it('dead letters can be listed and replayed onto their stream once the cause is fixed', async () => {
    const stream = `t:${randomUUID()}`;
    let broken = true;
    const handled: string[] = [];
    const consumer = orderConsumer(
      stream,
      async (e) => {
        if (broken) throw new Error('downstream refused');
        handled.push(e.id);
        return 'ok';
      },
      { maxAttempts: 1 },
    );
    const ev = placed();
    await redis.xadd(stream, '*', 'event', JSON.stringify(ev));
    consumer.start();
    await until('dead-lettered', async () => (await redis.xlen(consumer.deadLetterStream)) === 1);
    const [letter] = await listDeadLetters(redis, consumer.deadLetterStream);
    expect(letter).toMatchObject({
      reason: 'max_attempts',
      detail: 'downstream refused',
      stream,
      group: 'g',
      deliveries: 1,
    });
    broken = false;
    expect(await replayDeadLetters(redis, consumer.deadLetterStream)).toHaveLength(1);
    await until('replayed event handled', async () => handled.includes(ev.id));
    await consumer.stop();
    expect(await redis.xlen(consumer.deadLetterStream)).toBe(0);
  });

  it('an event enqueued inside a span carries that span as traceparent', async () => {
    const pool = await freshDb();
    const span = trace.wrapSpanContext({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
    const ev = placed();
    await context.with(trace.setSpan(context.active(), span), async () => {
      expect(activeTraceparent()).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      await enqueueEvent(pool, 's', ev);
    });
    const { rows } = await pool.query('SELECT payload FROM outbox WHERE event_id = $1', [ev.id]);
    expect(rows[0].payload.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
