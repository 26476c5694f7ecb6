/**
 * How a service wires its background event work, in one place: the stream
 * consumer (with the service's `data` schemas, e.g. @breakwater/contracts'
 * DATA_SCHEMAS, and the test hooks from the environment) and, for a service that publishes, the outbox relay, started
 * and stopped together.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import {
  type EventHandler,
  StreamConsumer,
  type StreamConsumerOptions,
  testHooksFromEnv,
} from './consumer.ts';
import type { EventLogger } from './logger.ts';
import { OutboxRelay } from './outbox.ts';

export interface EventConsumerOptions {
  /** Fail-fast Redis client (redis.ts). */
  redis: Redis;
  stream: string;
  group: string;
  handlers: Readonly<Record<string, EventHandler>>;
  /** `data` schemas by type and dataversion; every handled type must appear (consumer.ts). */
  dataSchemas: StreamConsumerOptions['dataSchemas'];
  log: EventLogger;
  /** Idle time after which a pending entry is reclaimed, ms. */
  claimIdleMs: number;
  /** How often to look for reclaimable entries, ms. Default (consumer.ts): min(claimIdleMs, 5_000). */
  claimIntervalMs?: number | undefined;
  /** Deliveries before a failing entry is dead-lettered. */
  maxAttempts: number;
  /** Entries handled at once. */
  concurrency: number;
  /** Consumer name in the group. Default (consumer.ts): `<hostname>-<pid>`. */
  consumerName?: string | undefined;
}

/** A `StreamConsumer` over `o.stream`, paused by `testHooksFromEnv()` when `BW_TEST_HOOKS=1`. */
export function createEventConsumer(o: EventConsumerOptions): StreamConsumer {
  const hooks = testHooksFromEnv();
  return new StreamConsumer({
    redis: o.redis,
    stream: o.stream,
    group: o.group,
    ...(o.consumerName ? { consumer: o.consumerName } : {}),
    handlers: o.handlers,
    dataSchemas: o.dataSchemas,
    claimIdleMs: o.claimIdleMs,
    ...(o.claimIntervalMs ? { claimIntervalMs: o.claimIntervalMs } : {}),
    maxAttempts: o.maxAttempts,
    concurrency: o.concurrency,
    log: o.log,
    ...(hooks ? { hooks } : {}),
  });
}

export interface EventWorkersOptions extends EventConsumerOptions {
  pool: pg.Pool;
  /** Outbox poll interval when idle, ms. */
  relayPollMs: number;
  /** When set, the relay also deletes inbox rows older than this, ms (outbox.ts). */
  retainInboxMs?: number | undefined;
}

/** What a service's environment sets for its workers (mesh/src/env.ts `consumerConfig` and `<PREFIX>_RELAY_POLL_MS`). */
export type EventWorkerSettings = Pick<
  EventWorkersOptions,
  'claimIdleMs' | 'maxAttempts' | 'concurrency' | 'consumerName' | 'relayPollMs'
>;

/** The worker settings out of a service's config (mesh/src/env.ts `eventService(...).config`). */
export function eventWorkerSettings(c: EventWorkerSettings): EventWorkerSettings {
  return {
    claimIdleMs: c.claimIdleMs,
    maxAttempts: c.maxAttempts,
    relayPollMs: c.relayPollMs,
    consumerName: c.consumerName,
    concurrency: c.concurrency,
  };
}

export interface EventWorkers {
  relay: OutboxRelay;
  consumer: StreamConsumer;
  /** Starts the relay, then the consumer. */
  start(): void;
  /** Stops both; resolves when both have stopped. */
  stop(): Promise<void>;
}

/** The outbox relay and the consumer of a service that both publishes and consumes events. */
export function createEventWorkers(o: EventWorkersOptions): EventWorkers {
  const relay = new OutboxRelay({
    pool: o.pool,
    redis: o.redis,
    pollMs: o.relayPollMs,
    log: o.log,
    ...(o.retainInboxMs !== undefined ? { retainInboxMs: o.retainInboxMs } : {}),
  });
  const consumer = createEventConsumer(o);
  return {
    relay,
    consumer,
    start() {
      relay.start();
      consumer.start();
    },
    async stop() {
      await Promise.all([relay.stop(), consumer.stop()]);
    },
  };
}
