/** Balancing and outlier detection over real loopback upstreams. */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMetrics } from '@breakwater/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { watchEndpointsFile } from '../src/client/endpoints-file.ts';
import { createUpstream, type Upstream, type UpstreamOptions } from '../src/client/index.ts';
import type { UpstreamClient } from '../src/client/upstream.ts';
import type { UpstreamPolicyInput } from '../src/policy.ts';
import { rejection, startUpstream, type TestUpstream, until } from './helpers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function upstreams(...statuses: number[]): Promise<TestUpstream[]> {
  return Promise.all(
    statuses.map(async (status) => {
      const u = await startUpstream((_req, res) => {
        res.statusCode = status;
        res.end('{}');
      });
      cleanups.push(() => u.close());
      return u;
    }),
  );
}

function client(o: Partial<UpstreamOptions> & { policy?: UpstreamPolicyInput }): Upstream {
  const c = createUpstream({ name: 'lb-test', ...o });
  cleanups.push(() => c.close());
  return c;
}

const NO_RETRY = { maxRetries: 0 } as const;
const NO_BREAKER = { enabled: false } as const;

async function calls(c: Upstream, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await c.request({ path: '/x', throwOnStatus: false }).catch(() => undefined);
    out.push(r?.status ?? 0);
  }
  return out;
}

describe('load balancing and outlier detection', () => {
  it('one baseUrl takes the fast path (no balancer); a list spreads tries over every endpoint', async () => {
    const us = await upstreams(200, 200, 200);
    const single = client({ baseUrl: us[0]?.url });
    expect((single as UpstreamClient).lb).toBeUndefined();
    expect((await single.request({ path: '/x' })).status).toBe(200);

    const many = client({ baseUrl: us.map((u) => u.url), policy: { breaker: NO_BREAKER } });
    expect((many as UpstreamClient).lb).toBeDefined();
    await Promise.all(Array.from({ length: 60 }, () => many.request({ path: '/x' })));
    for (const u of us) expect(u.hits).toBeGreaterThan(1);
  });

  it('ejects an endpoint after consecutive_5xx and sends it nothing more; metrics say so', async () => {
    const [bad, ...good] = (await upstreams(500, 200, 200)) as [TestUpstream, ...TestUpstream[]];
    const c = client({
      name: 'lb-eject',
      baseUrl: [bad.url, ...good.map((u) => u.url)],
      policy: { retry: NO_RETRY, breaker: NO_BREAKER, loadBalancer: { policy: 'round_robin' } },
    });
    await calls(c, 15); // round robin: the bad one gets its 5th consecutive 500 on the 15th call
    expect(bad.hits).toBe(5);
    const after = await calls(c, 30);
    expect(bad.hits).toBe(5);
    expect(after.every((s) => s === 200)).toBe(true);
    const { body } = await renderMetrics();
    const port = bad.url.split(':')[2];
    expect(body).toMatch(
      new RegExp(
        `bw_upstream_ejections_total\\{[^}]*upstream="lb-eject",endpoint="http://127.0.0.1:${port}",type="consecutive_5xx"[^}]*\\} 1`,
      ),
    );
    expect(body).toMatch(/bw_upstream_ejections_active\{[^}]*upstream="lb-eject"[^}]*\} 1/);
    expect(body).toMatch(/bw_upstream_endpoints_healthy\{[^}]*upstream="lb-eject"[^}]*\} 2/);
  });

  it('a retry goes to another endpoint than the failed try (previous_hosts)', async () => {
    const [bad, ...good] = (await upstreams(503, 200, 200)) as [TestUpstream, ...TestUpstream[]];
    const c = client({
      baseUrl: [bad.url, ...good.map((u) => u.url)],
      policy: {
        retry: { maxRetries: 1, backoff: { baseMs: 1, capMs: 2 }, budget: { minRetriesPerSec: 1_000 } },
        breaker: NO_BREAKER,
        outlierDetection: { enabled: false },
        loadBalancer: { policy: 'random' },
      },
    });
    const statuses = await calls(c, 60);
    expect(bad.hits).toBeGreaterThan(5); // it was tried first often enough to matter
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('below the panic threshold every ready endpoint gets traffic; threshold 0 keeps to the healthy one', async () => {
    for (const healthyPanicThreshold of [50, 0]) {
      const us = (await upstreams(500, 500, 200)) as [TestUpstream, TestUpstream, TestUpstream];
      const c = client({
        baseUrl: us.map((u) => u.url),
        policy: {
          retry: NO_RETRY,
          breaker: NO_BREAKER,
          loadBalancer: { policy: 'round_robin', healthyPanicThreshold },
          outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 },
        },
      });
      await calls(c, 3); // one 500 each ejects both bad endpoints: 1 of 3 healthy (33 %)
      const before = us.map((u) => u.hits);
      await calls(c, 30);
      const got = us.map((u, i) => u.hits - (before[i] as number));
      if (healthyPanicThreshold === 50) expect(got).toEqual([10, 10, 10]);
      else expect(got).toEqual([0, 0, 30]);
    }
  });

  it('an ejected endpoint is back after base_ejection_time (real timers); streaming tries are judged too', async () => {
    let failing = true;
    const flaky = await startUpstream((_req, res) => {
      res.statusCode = failing ? 500 : 200;
      res.end('{}');
    });
    cleanups.push(() => flaky.close());
    const [good] = (await upstreams(200)) as [TestUpstream];
    const c = client({
      baseUrl: [flaky.url, good.url],
      policy: {
        retry: NO_RETRY,
        breaker: NO_BREAKER,
        loadBalancer: { policy: 'round_robin' },
        outlierDetection: {
          consecutive5xx: 2,
          intervalMs: 20,
          baseEjectionTimeMs: 100,
          maxEjectionTimeMs: 1_000,
        },
      },
    });
    const lb = (c as UpstreamClient).lb;
    for (let i = 0; i < 4; i++) {
      const s = await c.stream({ path: '/x' });
      s.body.resume();
    }
    expect(flaky.hits).toBe(2);
    expect(lb?.snapshot().find((e) => e.origin === flaky.url)?.ejected).toBe(true);
    failing = false;
    await until(() => lb?.snapshot().find((e) => e.origin === flaky.url)?.ejected === false, 2_000);
    await calls(c, 4);
    expect(flaky.hits).toBe(4);
    expect(c.stats().endpoints?.map((e) => e.active)).toEqual([0, 0]);
  });

  it('follows a watched endpoints file: a not-ready endpoint gets no new tries; none ready is MESH_ERR_CONNECT', async () => {
    const [a, b] = (await upstreams(200, 200)) as [TestUpstream, TestUpstream];
    const path = join(mkdtempSync(join(tmpdir(), 'bw-lb-')), 'catalog.json');
    const write = (endpoints: unknown) => {
      writeFileSync(`${path}.tmp`, JSON.stringify({ endpoints }));
      renameSync(`${path}.tmp`, path);
    };
    write([{ url: a.url, ready: true }]);
    const c = client({
      endpoints: watchEndpointsFile(path),
      policy: { retry: NO_RETRY, breaker: NO_BREAKER },
    });
    await calls(c, 5);
    expect([a.hits, b.hits]).toEqual([5, 0]);

    write([
      { url: a.url, ready: false },
      { url: b.url, ready: true },
    ]);
    const lb = (c as UpstreamClient).lb;
    await until(() => lb?.snapshot().length === 2);
    await calls(c, 5);
    expect([a.hits, b.hits]).toEqual([5, 5]);

    write([{ url: b.url, ready: false }]);
    await until(() => lb?.snapshot().length === 1);
    const err = await rejection(c.request({ path: '/x' }));
    expect(err.code).toBe('MESH_ERR_CONNECT');
    expect(err.message).toContain('no ready endpoint');
  });

  it('refuses baseUrl and endpoints together, and neither', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bw-lb-')), 'e.json');
    writeFileSync(path, '{"endpoints":[]}');
    const src = watchEndpointsFile(path);
    cleanups.push(async () => src.close());
    expect(() => createUpstream({ name: 'x', baseUrl: 'http://127.0.0.1:1', endpoints: src })).toThrow(
      'give baseUrl or endpoints, not both',
    );
    expect(() => createUpstream({ name: 'x' })).toThrow('baseUrl or endpoints is required');
  });
});
