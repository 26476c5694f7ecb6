/**
 * The k6 scripts, run by real k6 for a few seconds against a real loopback
 * server (contract-server.ts) — so the scripts' verdicts are proven
 * independently of the gateway: exit 0 when the server keeps its limits and
 * contract, 99 (a threshold failed) when it deliberately does not.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { limitPerSecond, parseRateLimitPolicy, policiesFrom } from '../lib/ratelimit-headers.ts';
import { type ContractServer, startContractServer } from './contract-server.ts';
import { k6, ROOT } from './run-k6.ts';

/** Per test: a k6 run of a few seconds plus start-up; the root config's timeout does not apply under --root k6. */
const TEST_TIMEOUT_MS = 40_000;

/** Every k6 entry script (a file that exports `options`) under k6/, outside lib/ and test/ folders. */
function entryScripts(): string[] {
  const dir = join(ROOT, 'k6');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !/(^|\/)(lib|test)\//.test(f))
    .filter((f) => /export const options\b/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => join('k6', f));
}

let server: ContractServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Summaries the runs write, removed after the file's tests. */
const scratch = mkdtempSync(join(tmpdir(), 'bw-k6-scripts-'));
let scratchFiles = 0;
const scratchFile = (name: string) => join(scratch, `${++scratchFiles}-${name}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('k6 scripts parse', () => {
  it('finds the load profiles and the rate-limit tool', () => {
    const scripts = entryScripts();
    for (const name of ['smoke', 'average', 'stress', 'spike', 'soak'])
      expect(scripts).toContain(`k6/load/${name}.ts`);
    expect(scripts).toContain('k6/ratelimit/ratelimit.ts');
  });

  it(
    'k6 inspect accepts every script in k6/, each with thresholds',
    async () => {
      for (const script of entryScripts()) {
        const { code, stdout, stderr } = await k6(['inspect', script]);
        expect(code, `${script}: ${stderr}`).toBe(0);
        const options = JSON.parse(stdout) as {
          scenarios: Record<string, { executor: string }>;
          thresholds: object | null;
        };
        expect(Object.keys(options.thresholds ?? {}).length, script).toBeGreaterThan(0);
        // The load profiles and the rate-limit tool are open-model: arrival-rate executors only.
        if (/^k6\/(load|ratelimit)\//.test(script)) {
          const executors = Object.values(options.scenarios).map((s) => s.executor);
          expect(executors.length, script).toBeGreaterThan(0);
          for (const e of executors) expect(e, script).toMatch(/^(constant|ramping)-arrival-rate$/);
        }
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('smoke profile', () => {
  const consumers = { 'smoke-key': { name: 'smoke', limit: 1_000 } };
  const run = (url: string, summaryExport?: string) =>
    k6(['run', '-q', ...(summaryExport ? ['--summary-export', summaryExport] : []), 'k6/load/smoke.ts'], {
      BASE_URL: url,
      API_KEY: 'smoke-key',
      RATE: '5',
      DURATION: '3s',
      ORDER_SHARE: '0.5',
    });

  it(
    'passes (exit 0) against a server that keeps the contract',
    async () => {
      server = await startContractServer({ consumers });
      const result = await run(server.url);
      expect(result.code, result.stderr + result.stdout).toBe(0);
      expect(server.counts.admitted).toBeGreaterThanOrEqual(10);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails (exit 99) when orders answer bare 500s',
    async () => {
      server = await startContractServer({ consumers, failOrders: true });
      const result = await run(server.url);
      expect(result.code).toBe(99);
      expect(result.stdout + result.stderr).toMatch(/failures[\s\S]*✗/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'counts an honest 503 (with Retry-After) from a failing catalog as degraded, not failed: exit 0',
    async () => {
      server = await startContractServer({ consumers, catalogDown: 'unavailable' });
      const summary = scratchFile('smoke-summary.json');
      const result = await run(server.url, summary);
      expect(result.code, result.stderr + result.stdout).toBe(0);
      const metrics = (
        JSON.parse(readFileSync(summary, 'utf8')) as { metrics: Record<string, Record<string, number>> }
      ).metrics;
      expect(metrics.degraded?.count).toBeGreaterThanOrEqual(10); // one per journey's product page
      expect(metrics.failures?.value).toBe(0);
      expect(metrics.http_req_failed?.value).toBe(0); // setResponseCallback: 503 is expected
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails (exit 99) when the catalog answers 503 without Retry-After',
    async () => {
      server = await startContractServer({ consumers, catalogDown: 'bare503' });
      const result = await run(server.url);
      expect(result.code).toBe(99);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('rate-limit tool', () => {
  const consumers = { 'key-busy': { name: 'busy', limit: 10 }, 'key-quiet': { name: 'quiet', limit: 20 } };
  const run = (url: string, summaryPath: string) =>
    k6(['run', '-q', 'k6/ratelimit/ratelimit.ts'], {
      BASE_URL: url,
      RL_CONSUMERS: JSON.stringify({
        busy: { apiKey: 'key-busy', rate: 30 },
        quiet: { apiKey: 'key-quiet', rate: 5 },
      }),
      RL_DURATION: '4s',
      RL_SUMMARY_JSON: summaryPath,
    });
  type Row = {
    consumer: string;
    admittedPerS: number;
    rejectedShare: number;
    limitPerS: number;
    pass: boolean;
  };
  const rows = (path: string) =>
    Object.fromEntries(
      (JSON.parse(readFileSync(path, 'utf8')) as { consumers: Row[] }).consumers.map((r) => [r.consumer, r]),
    );

  it(
    'passes (exit 0) when the server admits its announced limit, and reports per consumer',
    async () => {
      server = await startContractServer({ consumers });
      const summary = scratchFile('ratelimit-summary.json');
      const result = await run(server.url, summary);
      expect(result.code, result.stderr + result.stdout).toBe(0);
      expect(result.stdout).toMatch(/consumer\s+offered\/s\s+limit\/s\s+admitted\/s\s+429 %/);
      const { busy, quiet } = rows(summary);
      expect(busy?.limitPerS).toBe(10);
      // 4 s at a 10/s fixed-window limit touches 4–5 windows.
      expect(busy?.admittedPerS).toBeGreaterThanOrEqual(8);
      expect(busy?.admittedPerS).toBeLessThanOrEqual(13);
      expect(busy?.rejectedShare).toBeGreaterThan(0.5);
      expect(quiet?.rejectedShare).toBe(0);
      expect(busy?.pass && quiet?.pass).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails (exit 99) when the server admits twice the limit it announces',
    async () => {
      server = await startContractServer({ consumers, admitFactor: 2 });
      const summary = scratchFile('ratelimit-summary.json');
      const result = await run(server.url, summary);
      expect(result.code).toBe(99);
      const { busy, quiet } = rows(summary);
      expect(busy?.admittedPerS).toBeGreaterThan(16);
      expect(busy?.pass).toBe(false);
      expect(quiet?.pass).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('rate-limit headers', () => {
  it('reads draft -07 and -08 RateLimit-Policy and Kong headers as policies', () => {
    expect(parseRateLimitPolicy('10, 10;w=1, 600;w=60')).toEqual([
      { quota: 10, windowS: 1 },
      { quota: 600, windowS: 60 },
    ]);
    expect(parseRateLimitPolicy('"default";q=100;w=60')).toEqual([{ quota: 100, windowS: 60 }]);
    expect(policiesFrom({ 'X-RateLimit-Limit-Minute': '120' })).toEqual([{ quota: 120, windowS: 60 }]);
    expect(policiesFrom({ 'X-RateLimit-Limit': '5' })).toEqual([]);
  });

  it('takes the tightest policy, counting a window longer than the run as the run', () => {
    const gateway = policiesFrom({ 'RateLimit-Policy': '"per-second";q=50;w=1, "per-minute";q=1000;w=60' });
    expect(limitPerSecond(gateway)).toBeCloseTo(1000 / 60);
    expect(limitPerSecond(gateway, 20)).toBe(50);
    expect(limitPerSecond([])).toBeUndefined();
  });
});
