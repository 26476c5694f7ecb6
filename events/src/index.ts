/** The event layer: envelope, outbox, inbox, stream consumer. */
export * from './consumer.ts';
export * from './dead-letters.ts';
export * from './envelope.ts';
export * from './inbox.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './outbox.ts';
export * from './postgres.ts';
export * from './redis.ts';
export * from './service-stores.ts';
export * from './service-workers.ts';
export * from './trace-context.ts';
