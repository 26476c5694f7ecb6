import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backendConfig,
  backendEnvShape,
  consumerConfig,
  consumerEnvShape,
  envPostgresUrl,
  envRedisUrl,
  eventService,
  parseEnv,
  readServiceEnv,
  relayEnvShape,
} from './env.ts';

describe('readServiceEnv', () => {
  it('reads and freezes the service environment with defaults', () => {
    const env = readServiceEnv({ BW_SERVICE: 'catalog', PORT: '4001' });
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 4001, BW_SERVICE: 'catalog', LOG_LEVEL: 'info' });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('names the bad variable', () => {
    expect(() => readServiceEnv({})).toThrow(/BW_SERVICE/);
    expect(() => readServiceEnv({ BW_SERVICE: 'catalog', PORT: 'http' })).toThrow(/PORT/);
    expect(() => readServiceEnv({ BW_SERVICE: 'catalog', BW_ADMIN_PORT: '9000' })).toThrow(/BW_ADMIN_TOKEN/);
    expect(() =>
      readServiceEnv({ BW_SERVICE: 'catalog', BW_ADMIN_PORT: '9000', BW_ADMIN_TOKEN: 'short' }),
    ).toThrow(/BW_ADMIN_TOKEN: must be at least 16/);
  });
});

describe('backend service env building blocks', () => {
  const Schema = z.object({
    ...backendEnvShape({ prefix: 'SHOP', service: 'shop', port: 8089 }),
    DATABASE_URL: envPostgresUrl,
    REDIS_URL: envRedisUrl,
    ...consumerEnvShape({ prefix: 'SHOP', maxAttempts: 7 }),
    ...relayEnvShape('SHOP'),
  });
  const base = { DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:1' };

  it('applies the defaults and maps the common and consumer parts', () => {
    const e = parseEnv(Schema, base);
    expect(backendConfig('SHOP', e)).toEqual({
      host: '127.0.0.1',
      port: 8089,
      service: 'shop',
      databaseUrl: 'postgres://u@h/db',
      redisUrl: 'redis://h:1',
      adminPort: undefined,
      adminToken: undefined,
      migrateOnStart: true,
    });
    expect(consumerConfig('SHOP', e)).toEqual({
      claimIdleMs: 10_000,
      maxAttempts: 7,
      consumerName: undefined,
      concurrency: 4,
    });
    expect(e.SHOP_RELAY_POLL_MS).toBe(100);
  });

  it('reads the prefixed variables', () => {
    const e = parseEnv(Schema, {
      ...base,
      SHOP_MIGRATE_ON_START: '0',
      SHOP_CLAIM_IDLE_MS: '300',
      SHOP_MAX_ATTEMPTS: '2',
      SHOP_CONCURRENCY: '8',
      SHOP_CONSUMER_NAME: 'shop-1',
    });
    expect(backendConfig('SHOP', e).migrateOnStart).toBe(false);
    expect(consumerConfig('SHOP', e)).toEqual({
      claimIdleMs: 300,
      maxAttempts: 2,
      consumerName: 'shop-1',
      concurrency: 8,
    });
  });

  it('throws one Error naming every bad variable', () => {
    expect(() => parseEnv(Schema, { ...base, PORT: 'http', SHOP_CONCURRENCY: '65' })).toThrow(
      /^invalid environment: PORT: .+; SHOP_CONCURRENCY: /,
    );
    expect(() => parseEnv(Schema, { REDIS_URL: 'http://h' })).toThrow(
      /DATABASE_URL: .+; REDIS_URL: a redis:\/\/ URL/,
    );
  });
});

describe('eventService', () => {
  const base = { DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:1' };

  it('declares the common, consumer and relay variables once and maps them into the config', () => {
    const common = eventService({ prefix: 'SHOP', service: 'shop', port: 8089, maxAttempts: 7, relay: true });
    const Schema = z.object({ ...common.shape, DATABASE_URL: envPostgresUrl, REDIS_URL: envRedisUrl });
    const e = parseEnv(Schema, { ...base, SHOP_RELAY_POLL_MS: '40', SHOP_CONCURRENCY: '2' });
    // The composition of the building blocks above, plus the relay's poll interval.
    expect(common.config(e)).toEqual({
      ...backendConfig('SHOP', e),
      ...consumerConfig('SHOP', e),
      relayPollMs: 40,
    });
    expect(common.config(e)).toMatchObject({ port: 8089, service: 'shop', maxAttempts: 7, concurrency: 2 });
  });

  it('has no relay variable or relayPollMs without `relay`', () => {
    const common = eventService({ prefix: 'SHOP', service: 'shop', port: 8089, maxAttempts: 5 });
    expect(Object.keys(common.shape)).not.toContain('SHOP_RELAY_POLL_MS');
    const Schema = z.object({ ...common.shape, DATABASE_URL: envPostgresUrl, REDIS_URL: envRedisUrl });
    const config = common.config(parseEnv(Schema, base));
    expect(config).not.toHaveProperty('relayPollMs');
    expect(config.maxAttempts).toBe(5);
  });
});
