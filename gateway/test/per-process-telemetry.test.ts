/**
 * What operators see of the two gateway processes that share one port: each
 * process's own /metrics on its admin port (no token), the local Prometheus
 * config scraping each of them there, and trace ids in the gateway's log lines.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildPlatform } from '@breakwater/local';
import { freePort } from '@breakwater/local/ports';
import { instancesTargetsFile } from '@breakwater/local/scrape-targets';
import { sharedRedisUrl } from '@breakwater/local/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  getFresh,
  pollUntil,
  spawnGatewayPair,
  startUpstream,
  type TestUpstream,
  testConfig,
  writeConfig,
} from './helpers.ts';

const ALICE = { apikey: 'alice-test-key-0123456789' };

let svc: TestUpstream;
let gateways: GatewayProcess[] = [];
let port: number;

beforeAll(async () => {
  svc = await startUpstream();
  const deadPort = await freePort(); // nothing listens: the `other` upstream is down
  port = await freePort();
  const configFile = writeConfig(
    testConfig({ redis: { keyPrefix: `bw:gw:telemetry:${process.pid}:`, commandTimeoutMs: 2_000 } }),
  );
  const env = {
    GATEWAY_CONFIG: configFile,
    REDIS_URL: sharedRedisUrl(),
    SVC_URL: svc.url,
    OTHER_URL: `http://127.0.0.1:${deadPort}`,
  };
  gateways = await spawnGatewayPair(env, port);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await svc?.close();
});

const get = (urlPath: string, headers: Record<string, string>) => getFresh(port, urlPath, headers);

const API_2XX =
  /^bw_gateway_requests_total\{[^}]*route="api"[^}]*consumer="alice"[^}]*status_class="2xx"[^}]*\} (\d+)$/m;

describe('per-process metrics', () => {
  it("each process's admin port serves its own /metrics without the token; together they count every request", async () => {
    const N = 40;
    const servedBy = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const r = await get('/api/svc/x', ALICE);
      expect(r.status).toBe(200);
      const via = String(r.headers.via);
      const who = via.includes('gateway-1') ? 'gateway-1' : via.includes('gateway-2') ? 'gateway-2' : via;
      servedBy.set(who, (servedBy.get(who) ?? 0) + 1);
    }
    const counts: number[] = [];
    for (const [i, g] of gateways.entries()) {
      const m = await fetch(`${g.adminUrl}/metrics`);
      expect(m.status).toBe(200);
      const text = await m.text();
      const count = Number(API_2XX.exec(text)?.[1] ?? 0);
      // Exactly the requests this process answered (by its Via), not its sibling's.
      expect(count).toBe(servedBy.get(`gateway-${i + 1}`) ?? 0);
      counts.push(count);
      // The rest of the admin API still needs the token.
      expect((await fetch(`${g.adminUrl}/admin/config`)).status).toBe(401);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
  });

  it("local's Prometheus config scrapes each gateway process on its admin port, job gateway, own instance", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'bw-gw-platform-'));
    try {
      for (const main of ['services/catalog/src/main.ts', 'gateway/src/main.ts']) {
        mkdirSync(path.join(root, path.dirname(main)), { recursive: true });
        writeFileSync(path.join(root, main), '');
      }
      const runDir = path.join(root, '.run');
      const platform = await buildPlatform({
        root,
        runDir,
        adminToken: 'admin-token-for-gateway-tests',
        gatewayPort: 0,
        prometheusPort: 0,
      });
      const prom = platform.specs.find((s) => s.name === 'prometheus');
      if (!prom) return expect(platform.skipped.map((s) => s.name)).toContain('prometheus');
      await prom.prepare?.();
      // Scrape targets come from the file_sd file the supervisor keeps (scrape-targets.ts).
      const groups = JSON.parse(readFileSync(instancesTargetsFile(runDir), 'utf8')) as {
        targets: string[];
        labels: Record<string, string>;
      }[];
      const gw = groups.filter((g) => g.labels.job === 'gateway');
      const spec = (name: string) => platform.specs.find((s) => s.name === name);
      expect(gw).toEqual([
        {
          targets: [`127.0.0.1:${spec('gateway-1')?.adminPort}`],
          labels: { job: 'gateway', instance: 'gateway-1', pod: 'gateway-1' },
        },
        {
          targets: [`127.0.0.1:${spec('gateway-2')?.adminPort}`],
          labels: { job: 'gateway', instance: 'gateway-2', pod: 'gateway-2' },
        },
      ]);
      // Not the shared public port.
      expect(JSON.stringify(gw)).not.toContain(`:${spec('gateway-1')?.port}"`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('trace ids', () => {
  it("the gateway's log lines carry the request's trace_id and span_id, and the upstream gets the same trace", async () => {
    const traceId = 'ab'.repeat(16);
    const clientParent = 'cd'.repeat(8);
    const traceparent = `00-${traceId}-${clientParent}-01`;

    const ok = await get('/api/svc/x', { ...ALICE, traceparent });
    expect(ok.status).toBe(200);
    const sent = (JSON.parse(ok.body) as { headers: Record<string, string> }).headers.traceparent;
    const [, upstreamTrace, upstreamParent] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent ?? '') ?? [];
    expect(upstreamTrace).toBe(traceId);
    expect(upstreamParent).not.toBe(clientParent);

    // The `other` upstream is down: the gateway answers 503 (connection refused) and logs a warning inside the request.
    const failed = await get('/api/other/x', { ...ALICE, traceparent });
    expect(failed.status).toBe(503);
    type Line = { msg?: string; trace_id?: string; span_id?: string; request_id?: string };
    let line: Line | undefined;
    await pollUntil(
      () => {
        const lines = gateways
          .flatMap((g) => g.stdout().split('\n'))
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Line);
        line = lines.find(
          (l) => l.msg === 'upstream call failed' && l.request_id === failed.headers['x-request-id'],
        );
        return line !== undefined;
      },
      5_000,
      'the upstream failure log line',
    );
    expect(line?.trace_id).toBe(traceId);
    expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line?.span_id).not.toBe(clientParent);
  });
});
