/**
 * A Redis Streams consumer in a consumer group.
 *
 * Each loop turn: every `claimIntervalMs`, XAUTOCLAIM entries that sat
 * pending longer than `claimIdleMs` (their consumer died, or a handler failed
 * and left them for a later try) and handle them; then XREADGROUP new
 * entries with a short BLOCK. An entry is acknowledged only after its
 * handler returned, so a consumer killed between read and ack leaves it
 * pending for another consumer to reclaim: delivery is at-least-once and
 * handlers de-duplicate by event id (inbox.ts), which makes the effect
 * happen once.
 *
 * An entry goes to the dead-letter stream (`<stream>:dlq:<group>`, with the
 * reason) instead of crashing the consumer when it cannot be parsed, its
 * envelope or data fails its schema, its data version is unknown, its
 * handler throws PermanentEventError, or it was delivered `maxAttempts`
 * times and the handler still fails.
 *
 * Redis outages are ridden out: every failure is logged (rate-limited),
 * followed by a jittered backoff and another turn.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { type EventEnvelope, parseEnvelope } from './envelope.ts';
import { type EventLogger, silentLogger } from './logger.ts';
import { catalogueEventMetrics, type EventMetrics } from './metrics.ts';
import { waitReady } from './redis.ts';
import { pause, runWithBackoff } from './run-loop.ts';
import { withEventSpan } from './trace-context.ts';

export interface HandlerContext {
  readonly stream: string;
  readonly group: string;
  readonly entryId: string;
  /** 1 on first delivery; grows each time the entry is reclaimed. */
  readonly deliveries: number;
}

/** Return 'duplicate' when the event had already been applied (for metrics). */
// biome-ignore lint/suspicious/noExplicitAny: handlers narrow `data` themselves via the type map.
export type EventHandler<T = any> = (
  event: EventEnvelope<T>,
  ctx: HandlerContext,
) => Promise<'ok' | 'duplicate'>;

/** Thrown by a handler for an event that can never succeed: dead-lettered at once. */
export class PermanentEventError extends Error {
  readonly code = 'EVT_ERR_PERMANENT';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentEventError';
  }
}

export interface ConsumerHooks {
  /** After entries were read (or reclaimed), before any handler runs. */
  afterRead?(entryIds: string[]): Promise<void>;
  /** After a handler returned, before XACK. */
  beforeAck?(entryId: string): Promise<void>;
}

export interface StreamConsumerOptions {
  /** Client for XACK, XAUTOCLAIM, XINFO and dead letters (fail-fast options, see redis.ts). */
  redis: Redis;
  stream: string;
  group: string;
  /** Default `<hostname>-<pid>`. */
  consumer?: string;
  /** Handlers by event type; entries of other types are acknowledged and counted as ignored. */
  handlers: Readonly<Record<string, EventHandler>>;
  /** `data` schemas by type and dataversion (e.g. @breakwater/contracts DATA_SCHEMAS). Handled types must appear here. */
  dataSchemas: Readonly<Record<string, Readonly<Record<string, z.ZodType>>>>;
  /** Deliveries before a failing entry is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Idle time after which a pending entry is reclaimed, ms. Default 30_000. */
  claimIdleMs?: number;
  /** How often to look for reclaimable entries, ms. Default min(claimIdleMs, 5_000). */
  claimIntervalMs?: number;
  /** XREADGROUP BLOCK, ms. Default 1_000. */
  blockMs?: number;
  /** Entries per read. Default 16. */
  batchSize?: number;
  /** Entries handled at once. Default 1 (in order); handlers must then not depend on each other's order. */
  concurrency?: number;
  /** Default `<stream>:dlq:<group>`. */
  deadLetterStream?: string;
  /** How often lag and pending are sampled, ms. Default 2_000. */
  metricsIntervalMs?: number;
  hooks?: ConsumerHooks;
  log?: EventLogger;
  metrics?: EventMetrics;
}

type Entry = [id: string, fields: string[]];

export class StreamConsumer {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly deadLetterStream: string;
  readonly #o: StreamConsumerOptions;
  readonly #redis: Redis;
  #blocking: Redis | undefined;
  readonly #maxAttempts: number;
  readonly #claimIdleMs: number;
  readonly #claimIntervalMs: number;
  readonly #blockMs: number;
  readonly #batch: number;
  readonly #concurrency: number;
  readonly #log: EventLogger;
  readonly #metrics: EventMetrics;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #groupReady = false;
  #lastError = 0;

  constructor(o: StreamConsumerOptions) {
    this.#o = o;
    this.#redis = o.redis;
    this.stream = o.stream;
    this.group = o.group;
    this.consumer = o.consumer ?? `${hostname()}-${process.pid}`;
    this.deadLetterStream = o.deadLetterStream ?? `${o.stream}:dlq:${o.group}`;
    this.#maxAttempts = o.maxAttempts ?? 5;
    this.#claimIdleMs = o.claimIdleMs ?? 30_000;
    this.#claimIntervalMs = o.claimIntervalMs ?? Math.min(this.#claimIdleMs, 5_000);
    this.#blockMs = o.blockMs ?? 1_000;
    this.#batch = o.batchSize ?? 16;
    this.#concurrency = o.concurrency ?? 1;
    if (!(this.#concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${this.#concurrency}`);
    this.#log = o.log ?? silentLogger;
    this.#metrics = o.metrics ?? catalogueEventMetrics();
    if (!(this.#maxAttempts >= 1)) throw new RangeError(`maxAttempts must be >= 1, got ${this.#maxAttempts}`);
    if (!(this.#claimIdleMs >= 1)) throw new RangeError(`claimIdleMs must be >= 1, got ${this.#claimIdleMs}`);
    for (const type of Object.keys(o.handlers)) {
      if (!o.dataSchemas[type]) throw new RangeError(`handlers: no data schema for event type ${type}`);
    }
  }

  /** Starts consuming (idempotent). */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    // A blocking read holds its connection; use a dedicated one.
    this.#blocking = this.#redis.duplicate({
      commandTimeout: undefined,
      blockingTimeout: this.#blockMs + 2_000,
    });
    this.#blocking.on('error', () => {});
    this.#loop = this.#run(this.#abort.signal);
    const interval = this.#o.metricsIntervalMs ?? 2_000;
    this.#metricsTimer = setInterval(() => void this.sampleMetrics().catch(() => {}), interval);
    this.#metricsTimer.unref();
  }

  /** Stops after the entry in hand; entries read and not yet handled stay pending for reclaim. */
  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#metricsTimer);
    this.#blocking?.disconnect();
    await this.#loop;
    this.#loop = undefined;
    this.#blocking = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let nextClaimAt = 0;
    // Fail-fast clients refuse commands until connected: give start-up a moment.
    await Promise.all(
      [this.#redis, this.#blocking].map((r) => (r ? waitReady(r, 5_000, signal) : undefined)),
    );
    await runWithBackoff(
      signal,
      async () => {
        if (!this.#groupReady) await this.ensureGroup();
        if (Date.now() >= nextClaimAt) {
          await this.reclaim(signal);
          nextClaimAt = Date.now() + this.#claimIntervalMs;
        }
        await this.#readNew(signal);
      },
      {
        floorMs: 100,
        onError: (err, failures) => {
          const msg = (err as Error).message ?? String(err);
          if (msg.includes('NOGROUP')) this.#groupReady = false;
          this.#warn(msg, failures);
        },
      },
    );
  }

  #warn(msg: string, failures: number): void {
    const now = Date.now();
    if (now - this.#lastError < 5_000) return;
    this.#lastError = now;
    this.#log.warn(
      { err: msg, failures, stream: this.stream, group: this.group },
      'stream consumer: turn failed',
    );
  }

  /** Creates the group (reading from the start of the stream) unless it exists. */
  async ensureGroup(): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.#groupReady = true;
  }

  async #readNew(signal: AbortSignal): Promise<void> {
    const blocking = this.#blocking;
    if (!blocking) return;
    const res = (await blocking.xreadgroup(
      'GROUP',
      this.group,
      this.consumer,
      'COUNT',
      this.#batch,
      'BLOCK',
      this.#blockMs,
      'STREAMS',
      this.stream,
      '>',
    )) as [string, Entry[]][] | null;
    const entries = res?.[0]?.[1] ?? [];
    if (entries.length === 0) return;
    await this.#o.hooks?.afterRead?.(entries.map((e) => e[0]));
    await this.#handleAll(entries, () => 1, signal);
  }

  /**
   * Handles entries, up to `concurrency` at a time (entries are independent:
   * handlers are idempotent and keyed per order). After an abort the rest
   * stay pending and are reclaimed later.
   */
  async #handleAll(
    entries: Entry[],
    deliveries: (id: string) => number,
    signal?: AbortSignal,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < entries.length && !signal?.aborted) {
        const [id, fields] = entries[next++] as Entry;
        await this.#handle(id, fields, deliveries(id));
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(this.#concurrency, entries.length) }, worker),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Claims and handles entries idle longer than claimIdleMs; returns how many were claimed. */
  async reclaim(signal?: AbortSignal): Promise<number> {
    let start = '0-0';
    let total = 0;
    for (let round = 0; round < 100 && !signal?.aborted; round++) {
      const res = (await this.#redis.xautoclaim(
        this.stream,
        this.group,
        this.consumer,
        this.#claimIdleMs,
        start,
        'COUNT',
        this.#batch,
      )) as [string, (Entry | null)[], string[]?];
      const entries = (res[1] ?? []).filter((e): e is Entry => Array.isArray(e));
      if (entries.length > 0) {
        total += entries.length;
        this.#metrics.reclaimed(this.stream, this.group, entries.length);
        const deliveries = await this.#deliveryCounts(entries);
        this.#log.info(
          { stream: this.stream, group: this.group, entries: entries.map((e) => e[0]) },
          'reclaimed pending entries',
        );
        await this.#o.hooks?.afterRead?.(entries.map((e) => e[0]));
        await this.#handleAll(entries, (id) => deliveries.get(id) ?? 2, signal);
      }
      start = res[0];
      if (start === '0-0') break;
    }
    return total;
  }

  async #deliveryCounts(entries: Entry[]): Promise<Map<string, number>> {
    const first = (entries[0] as Entry)[0];
    const last = (entries[entries.length - 1] as Entry)[0];
    const rows = (await this.#redis.xpending(
      this.stream,
      this.group,
      first,
      last,
      entries.length + 100,
      this.consumer,
    )) as [string, string, number, number][];
    return new Map(rows.map((r) => [r[0], Number(r[3])]));
  }

  async #handle(id: string, fields: string[], deliveries: number): Promise<void> {
    const raw = fieldOf(fields, 'event');
    const parsed = parseEnvelope(raw);
    if (!parsed.ok) {
      await this.#deadLetter(
        id,
        raw,
        deliveries,
        parsed.reason,
        parsed.detail,
        fieldOf(fields, 'type') ?? 'unknown',
      );
      return;
    }
    const event = parsed.event;
    const handler = this.#o.handlers[event.type];
    if (!handler) {
      await this.#redis.xack(this.stream, this.group, id);
      this.#metrics.processed(this.stream, this.group, event.type, 'ignored');
      return;
    }
    const schema = this.#o.dataSchemas[event.type]?.[event.dataversion];
    if (!schema) {
      await this.#deadLetter(
        id,
        raw,
        deliveries,
        'unsupported_version',
        `${event.type} dataversion ${event.dataversion}`,
        event.type,
      );
      return;
    }
    const data = schema.safeParse(event.data);
    if (!data.success) {
      const issue = data.error.issues[0];
      await this.#deadLetter(
        id,
        raw,
        deliveries,
        'invalid_data',
        issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid',
        event.type,
      );
      return;
    }
    const typed = { ...event, data: data.data } as EventEnvelope;
    const ctx: HandlerContext = { stream: this.stream, group: this.group, entryId: id, deliveries };
    let result: 'ok' | 'duplicate';
    try {
      const r = await withEventSpan(
        `${this.stream} process`,
        event.traceparent,
        {
          'messaging.system': 'redis',
          'messaging.destination.name': this.stream,
          'messaging.consumer.group.name': this.group,
          'messaging.message.id': event.id,
          'cloudevents.event_type': event.type,
        },
        () => handler(typed, ctx),
      );
      result = r === 'duplicate' ? 'duplicate' : 'ok';
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (err instanceof PermanentEventError) {
        await this.#deadLetter(id, raw, deliveries, 'rejected', message, event.type);
      } else if (deliveries >= this.#maxAttempts) {
        await this.#deadLetter(id, raw, deliveries, 'max_attempts', message, event.type);
      } else {
        // Left pending: reclaimed (by any consumer) once idle for claimIdleMs.
        this.#metrics.processed(this.stream, this.group, event.type, 'retry');
        this.#log.warn(
          { err: message, entryId: id, eventId: event.id, type: event.type, deliveries },
          'event handler failed; will retry',
        );
      }
      return;
    }
    await this.#o.hooks?.beforeAck?.(id);
    await this.#redis.xack(this.stream, this.group, id);
    this.#metrics.processed(this.stream, this.group, event.type, result);
  }

  async #deadLetter(
    id: string,
    raw: string | undefined,
    deliveries: number,
    reason: string,
    detail: string,
    type: string,
  ): Promise<void> {
    const res = await this.#redis
      .multi()
      .xadd(
        this.deadLetterStream,
        '*',
        'reason',
        reason,
        'detail',
        detail.slice(0, 1_000),
        'stream',
        this.stream,
        'group',
        this.group,
        'entry_id',
        id,
        'deliveries',
        String(deliveries),
        'event',
        raw ?? '',
      )
      .xack(this.stream, this.group, id)
      .exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('dead-letter transaction aborted');
    this.#metrics.deadLetter(this.stream, this.group, reason);
    this.#metrics.processed(this.stream, this.group, type, 'dead_letter');
    this.#log.warn(
      { entryId: id, reason, detail, deliveries, dlq: this.deadLetterStream },
      'event dead-lettered',
    );
  }

  /** Samples lag and pending entries of this group (XINFO GROUPS) into the metrics. */
  async sampleMetrics(): Promise<{ lag: number | null; pending: number } | undefined> {
    const groups = (await this.#redis.xinfo('GROUPS', this.stream)) as unknown[][];
    for (const g of groups) {
      const info = pairs(g);
      if (info.name !== this.group) continue;
      const pending = Number(info.pending ?? 0);
      const lag = info.lag === null || info.lag === undefined ? null : Number(info.lag);
      this.#metrics.streamPending(this.stream, this.group, pending);
      if (lag !== null) this.#metrics.streamLag(this.stream, this.group, lag);
      return { lag, pending };
    }
    return undefined;
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function pairs(flat: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

/**
 * Test hooks from the environment, for drills and the kill test:
 * `BW_TEST_PAUSE_AFTER_READ_MS` pauses after entries are read (before any
 * handler), `BW_TEST_PAUSE_BEFORE_ACK_MS` after a handler returned and before
 * XACK. Each pause first writes one JSON line `{"bw_test_hook":...}` to
 * stdout so a test knows when to kill the process. Only in effect when
 * `BW_TEST_HOOKS=1`.
 */
export function testHooksFromEnv(env: NodeJS.ProcessEnv = process.env): ConsumerHooks | undefined {
  if (env.BW_TEST_HOOKS !== '1') return undefined;
  const afterRead = Number(env.BW_TEST_PAUSE_AFTER_READ_MS ?? 0);
  const beforeAck = Number(env.BW_TEST_PAUSE_BEFORE_ACK_MS ?? 0);
  const say = (hook: string, ids: string[]) =>
    process.stdout.write(`${JSON.stringify({ bw_test_hook: hook, entries: ids, pid: process.pid })}\n`);
  const hooks: ConsumerHooks = {};
  if (afterRead > 0) {
    hooks.afterRead = async (ids) => {
      say('after_read', ids);
      await pause(afterRead);
    };
  }
  if (beforeAck > 0) {
    hooks.beforeAck = async (id) => {
      say('before_ack', [id]);
      await pause(beforeAck);
    };
  }
  return hooks;
}
