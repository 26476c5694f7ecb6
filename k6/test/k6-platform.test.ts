/**
 * The same k6 scripts against the real platform (local/'s platform list and
 * supervisor on free ports: Redis, PostgreSQL, every service, both gateway
 * processes, the frontend): the smoke profile passes with a development
 * consumer, and the rate-limit tool confirms a limit changed live through
 * the gateway's admin API — and fails (exit 99) when told to expect a limit
 * the gateway does not enforce.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPlatform, PLATFORM } from '@breakwater/local/platform';
import { Supervisor } from '@breakwater/local/supervisor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k6 } from './run-k6.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ADMIN_TOKEN = 'k6-platform-test-admin-token-0123456789';
/** gateway.yaml's development consumers. */
const ALICE_KEY = 'dev-alice-key-0000-NOT-A-SECRET';

let runDir: string;
let supervisor: Supervisor;
let gatewayUrl: string;
let adminUrl: string;
let bobJwt: string;

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'bw-k6-platform-'));
  const platform = await buildPlatform({
    root: ROOT,
    runDir,
    gatewayPort: 0,
    adminToken: ADMIN_TOKEN,
    // No trace backend either: this test reads no traces (a JVM costs ~150 MiB and seconds of CPU).
    only: PLATFORM.filter((e) => !['prometheus', 'grafana', 'zipkin'].includes(e.kind)).map((e) => e.name),
  });
  expect(platform.skipped).toEqual([]);
  supervisor = new Supervisor(platform.specs);
  await supervisor.startAll();
  gatewayUrl = supervisor.get('gateway-1').status().url ?? '';
  const gatewayEnv = platform.specs.find((s) => s.name === 'gateway-1')?.env ?? {};
  adminUrl = `http://127.0.0.1:${gatewayEnv.GATEWAY_ADMIN_PORT}`;
  const minted = spawnSync(process.execPath, ['gateway/src/cli.ts', 'token', 'bob'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(minted.status, minted.stderr).toBe(0);
  bobJwt = minted.stdout.trim();
}, 120_000);

afterAll(async () => {
  // Services and gateways are SIGKILLed (their graceful drain is tested
  // elsewhere and would add seconds per tier); Redis and PostgreSQL stop cleanly.
  const apps =
    supervisor?.processes.filter((p) => p.spec.kind === 'service' || p.spec.kind === 'gateway') ?? [];
  await Promise.allSettled(apps.map((p) => p.kill()));
  await supervisor?.stopAll();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}, 120_000);

describe('k6 scripts against the real gateway', () => {
  it('smoke passes (exit 0) for the API-key development consumer', async () => {
    const result = await k6(['run', '-q', 'k6/load/smoke.ts'], {
      BASE_URL: gatewayUrl,
      API_KEY: ALICE_KEY,
      RATE: '1',
      DURATION: '4s',
      ORDER_SHARE: '0.5',
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/failures[^\n]*\n[^\n]*✓ 'rate<0\.01' rate=0\.00%/);
  }, 60_000);

  it('the rate-limit tool sees a limit changed live through the admin API', async () => {
    const changed = await fetch(`${adminUrl}/admin/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: 'api-default', limits: { second: 6 } }),
    });
    expect(changed.status, await changed.text()).toBe(200);

    const summary = join(runDir, 'rl.json');
    const run = (consumer: object) =>
      k6(['run', '-q', 'k6/ratelimit/ratelimit.ts'], {
        BASE_URL: gatewayUrl,
        BOB_JWT: bobJwt,
        RL_CONSUMERS: JSON.stringify({ bob: { jwt: '$BOB_JWT', rate: 15, ...consumer } }),
        RL_DURATION: '6s',
        RL_SUMMARY_JSON: summary,
      });

    const honest = await run({});
    expect(honest.code, honest.stdout + honest.stderr).toBe(0);
    const row = (JSON.parse(readFileSync(summary, 'utf8')) as { consumers: Record<string, number>[] })
      .consumers[0];
    expect(row?.limitPerS).toBe(6); // read from RateLimit-Policy
    expect(row?.admittedPerS).toBeGreaterThan(4.5);
    expect(row?.admittedPerS).toBeLessThan(7.5);

    // Told to expect 3/s while the gateway admits 6/s: the verdict fails.
    const wrong = await run({ limit: 3, window: '1s' });
    expect(wrong.code, wrong.stdout).toBe(99);
    expect(wrong.stdout).toMatch(/bob .* FAIL/);
  }, 60_000);
});
