import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { freePort } from '@breakwater/local/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, parseConfigText } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import {
  ADMIN_TOKEN,
  GATEWAY_DIR,
  pollUntil,
  runNode,
  spawnGateway,
  startUpstream,
  type TestUpstream,
  testConfig,
  writeConfig,
} from './helpers.ts';

const issuesOf = (doc: unknown): string[] => {
  try {
    parseConfigText(stringify(doc));
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  return [];
};

describe('gateway.yaml validation', () => {
  it('accepts the checked-in gateway.yaml', () => {
    const { config } = loadConfig(join(GATEWAY_DIR, 'gateway.yaml'));
    expect(config.routes.map((r) => r.name)).toEqual(['catalog', 'orders', 'payments', 'frontend']);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it('validates staleIfError and methodsAt, naming the field', () => {
    const base = testConfig();
    const [api, other] = base.routes as Record<string, unknown>[];
    const issues = issuesOf({
      ...base,
      routes: [
        { ...api, staleIfError: { maxBytes: 2_048, maxEntryBytes: 4_096, bogus: 1 } },
        { ...other, methods: ['POST'], staleIfError: {}, methodsAt: { exact: ['GET'] } },
      ],
    });
    expect(issues).toContain('routes[0].staleIfError: Unrecognized key: "bogus"');
    expect(issues).toContain('routes[0].staleIfError.maxEntryBytes: must not exceed maxBytes');
    expect(issues).toContain('routes[1].staleIfError: only a route that takes GET keeps answers');
    expect(issues).toContain("routes[1].methodsAt.exact: GET is not one of the route's methods");
    // The checked-in file turns it on for catalog, with its defaults filled in where not given.
    const { config } = loadConfig(join(GATEWAY_DIR, 'gateway.yaml'));
    expect(config.routes.find((r) => r.name === 'catalog')?.staleIfError).toMatchObject({ maxEntries: 2000 });
  });

  it('names the field: unknown key, negative limit, unknown upstream, bad window order, missing header', () => {
    const base = testConfig();
    const routes = base.routes as Record<string, unknown>[];
    expect(issuesOf({ ...base, routes: [{ ...routes[0], bogus: 1 }] })).toEqual([
      'routes[0]: Unrecognized key: "bogus"',
    ]);
    expect(issuesOf({ ...base, rateLimits: [{ name: 'x', route: 'api', limits: { minute: -5 } }] })).toEqual([
      'rateLimits[0].limits.minute: Too small: expected number to be >0',
    ]);
    expect(issuesOf({ ...base, routes: [{ ...routes[0], upstream: 'nope' }] })).toEqual([
      'routes[0].upstream: unknown upstream "nope"',
    ]);
    expect(
      issuesOf({ ...base, rateLimits: [{ name: 'x', route: 'api', limits: { second: 10, minute: 5 } }] })[0],
    ).toMatch(/^rateLimits\[0\]\.limits: a longer window cannot have a lower limit/);
    expect(
      issuesOf({
        ...base,
        rateLimits: [{ name: 'x', route: 'api', limitBy: 'header', limits: { second: 1 } }],
      }),
    ).toEqual(['rateLimits[0].header: required when limitBy is "header"']);
    expect(issuesOf({ ...base, rateLimits: [{ name: 'x', limits: { second: 1 } }] })).toEqual([
      'rateLimits[0]: attach the policy to a route, a consumer or both',
    ]);
    expect(
      issuesOf({
        ...base,
        upstreams: { ...(base.upstreams as object), svc: { retry: { maxRetries: -1 } } },
      })[0],
    ).toMatch(/^upstreams\.svc\.retry\.maxRetries: /);
  });

  it('start-up refuses an invalid file with exit 1 and the field named, and a missing upstream URL by its variable', async () => {
    const bad = writeConfig({
      ...testConfig(),
      routes: [{ name: 'x', path: '/x', methods: ['GET'], upstream: 'nope' }],
    });
    const env = {
      GATEWAY_CONFIG: bad,
      GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
      REDIS_URL: 'redis://127.0.0.1:1',
      PORT: '0',
    };
    const r = await runNode([join(GATEWAY_DIR, 'src/main.ts')], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('routes[0].upstream: unknown upstream "nope"');
    const noUrl = await runNode([join(GATEWAY_DIR, 'src/main.ts')], {
      ...env,
      GATEWAY_CONFIG: writeConfig(testConfig()),
    });
    expect(noUrl.code).toBe(1);
    expect(noUrl.err).toContain('SVC_URL: required');
    const noToken = await runNode([join(GATEWAY_DIR, 'src/main.ts')], { ...env, GATEWAY_ADMIN_TOKEN: '' });
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain('GATEWAY_ADMIN_TOKEN');
  });
});

describe('SIGHUP', () => {
  let redis: RedisHandle;
  let svc: TestUpstream;
  beforeAll(async () => {
    redis = await startRedis();
    svc = await startUpstream();
  });
  afterAll(async () => {
    await svc?.close();
    await redis?.stop();
  });

  it('reloads gateway.yaml, and keeps the running config when the new file is invalid', async () => {
    const doc = testConfig({ rateLimits: [{ name: 'a', consumer: 'alice', limits: { minute: 100 } }] });
    const file = writeConfig(doc);
    const port = await freePort();
    const g = await spawnGateway(
      { GATEWAY_CONFIG: file, REDIS_URL: redis.url, SVC_URL: svc.url, OTHER_URL: svc.url },
      port,
    );
    try {
      const policy = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/svc/x`, {
          headers: { apikey: 'alice-test-key-0123456789' },
        });
        return r.headers.get('ratelimit-policy');
      };
      expect(await policy()).toBe('"per-minute";q=100;w=60');
      writeFileSync(
        file,
        stringify({ ...doc, rateLimits: [{ name: 'a', consumer: 'alice', limits: { minute: 250 } }] }),
      );
      g.child.kill('SIGHUP');
      await pollUntil(async () => (await policy()) === '"per-minute";q=250;w=60', 5_000, 'reloaded limit');
      writeFileSync(file, 'version: 1\nroutes: [}\n');
      g.child.kill('SIGHUP');
      const cfg = await fetch(`${g.adminUrl}/admin/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(cfg.status).toBe(400);
      expect(await policy()).toBe('"per-minute";q=250;w=60');
    } finally {
      await g.stop();
    }
  });
});
