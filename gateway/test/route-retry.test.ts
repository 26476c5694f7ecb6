import { sharedRedisUrl } from '@breakwater/local/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunningGateway } from '../src/app.ts';
import { parseConfigText } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { startTestGateway, startUpstream, type TestUpstream, testConfig, writeConfig } from './helpers.ts';

const ALICE = { apikey: 'alice-test-key-0123456789' };

let svc: TestUpstream;
let gw: RunningGateway;
/** Requests seen per path: the first one of each path answers 503, the rest 200. */
const hits = new Map<string, number>();

function routeRetryConfig(): Record<string, unknown> {
  const base = testConfig();
  return testConfig({
    redis: { keyPrefix: `bw:gw:route-retry:${process.pid}:`, commandTimeoutMs: 2_000 },
    routes: [
      // Same upstream (policy: maxRetries 0), one route retrying 503 twice.
      {
        name: 'retrying',
        path: '/api/retrying',
        stripPrefix: '/api/retrying',
        methods: ['GET'],
        upstream: 'svc',
        retry: { maxRetries: 2, statuses: [503] },
      },
      ...(base.routes as unknown[]),
    ],
  });
}

beforeAll(async () => {
  svc = await startUpstream((req, res) => {
    const n = (hits.get(req.url ?? '') ?? 0) + 1;
    hits.set(req.url ?? '', n);
    res.statusCode = n === 1 ? 503 : 200;
    res.end(String(n));
  });
  gw = await startTestGateway({
    configFile: writeConfig(routeRetryConfig()),
    redisUrl: sharedRedisUrl(),
    upstreams: { svc: svc.url, other: svc.url },
  });
});

afterAll(async () => {
  await gw?.close();
  await svc?.close();
});

describe('route-level retry policy', () => {
  it("retries on the route that overrides the upstream's retry policy, and only there", async () => {
    const retried = await fetch(`${gw.url}/api/retrying/a`, { headers: ALICE });
    expect(retried.status).toBe(200);
    expect(await retried.text()).toBe('2');
    expect(hits.get('/a')).toBe(2);
    // The upstream's own policy (maxRetries 0) on the other route to the same upstream.
    const plain = await fetch(`${gw.url}/api/svc/b`, { headers: ALICE });
    expect(plain.status).toBe(503);
    expect(hits.get('/svc/b')).toBe(1);
    // One client (one breaker, one budget) per upstream, whatever the routes.
    expect([...gw.state().upstreams.keys()]).toEqual(['svc', 'other']);
  });

  it('validates the override naming the field', () => {
    const bad = testConfig({
      routes: [
        { name: 'r', path: '/r', methods: ['GET'], upstream: 'svc', retry: { statuses: [404], nope: 1 } },
      ],
    });
    let issues: string[] = [];
    try {
      parseConfigText(stringify(bad));
    } catch (e) {
      if (e instanceof ConfigError) issues = [...e.issues];
      else throw e;
    }
    expect(issues.some((i) => i.startsWith('routes[0].retry.statuses[0]: '))).toBe(true);
    expect(issues.some((i) => i.startsWith('routes[0].retry: ') && i.includes('nope'))).toBe(true);

    // its Envoy rendering: tools/render/test/gateway/render.test.ts
  });
});
