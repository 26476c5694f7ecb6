/**
 * Every chaos drill in its short form against one real platform (Redis,
 * PostgreSQL per service, every service, both gateways, Prometheus when
 * installed, the fault controller) on free ports: each verdict must pass,
 * conclusive (not INCONCLUSIVE), each drill must finish within 60 s (runner
 * included), and catalog-latency's report opens in headless Chromium, offline:
 * its uPlot timeline drawn, the Breaker state panel showing the gateway's
 * catalog breaker open and closed again, and — when Zipkin runs — waterfalls
 * of breaker-open answers in the fault phase; no console error (screenshot
 * kept in reports/test-artifacts/). Then a platform with the stale copies
 * switched off — catalog's cache (CATALOG_STALE_TTL_MS=1: they expire at
 * once) and the gateway's stale-if-error (a gateway.yaml variant) — makes
 * catalog-db-outage fail, and the runner exit non-zero. Last, the replica
 * drills (bad-replica, replica-crash, rolling-deploy, slow-replica) on a
 * platform of their own started with the instances they declare (catalog 3,
 * orders 2; the runner scales orders to 3 for slow-replica), discovery on.
 * This is how `npm test` — and CI — runs the drills; `npm run drill -- all
 * --short` is the same from the command line.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../src/chromium.ts';
import { controlCall } from '../src/control-client.ts';
import { DRILLS, drillByName } from '../src/drill/drills.ts';
import { ensurePlatform, type PlatformHandle } from '../src/drill/platform.ts';
import { type DrillResult, runDrill } from '../src/drill/run-drill.ts';
import { withoutStaleIfError, writeGatewayVariant } from '../src/gateway-variant.ts';
import type { ProcessStatus } from '../src/managed-process.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHORT_DRILL_LIMIT_MS = 60_000; // a short drill takes at most 60 s, runner included
/** Where the report screenshot is kept after the run (git-ignored). */
const ARTIFACTS = path.join(ROOT, 'reports', 'test-artifacts');

let runDir: string;
let reportsDir: string;
let platform: PlatformHandle;
const results = new Map<string, DrillResult>();

beforeAll(() => {
  reportsDir = mkdtempSync(path.join(tmpdir(), 'bw-drills-reports-'));
});

afterAll(() => {
  if (reportsDir && process.env.BW_KEEP_REPORTS !== 'true')
    rmSync(reportsDir, { recursive: true, force: true });
});

describe('chaos drills, short form, on one platform', () => {
  // Started here, not for the whole file: one platform at a time on a small machine.
  beforeAll(async () => {
    runDir = mkdtempSync(path.join(tmpdir(), 'bw-drills-run-'));
    platform = await ensurePlatform({
      root: ROOT,
      runDir,
      env: { BW_GATEWAY_PORT: '0', BW_PROMETHEUS_PORT: '0' },
    });
    expect(platform.started).toBe(true);
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }, 120_000);

  for (const drill of DRILLS.filter((d) => !d.replicas)) {
    it(
      `${drill.name} passes: ${drill.summary}`,
      async () => {
        const started = Date.now();
        const result = await runDrill(drill, { root: ROOT, state: platform.state, short: true, reportsDir });
        results.set(drill.name, result);
        const took = Date.now() - started;
        expect(result.outcome, `\n${result.table}\nreport: ${result.reportDir}`).toBe('PASS');
        expect(result.exitCode).toBe(0);
        expect(took, `${drill.name} took ${took} ms`).toBeLessThan(SHORT_DRILL_LIMIT_MS);
      },
      SHORT_DRILL_LIMIT_MS + 60_000,
    );
  }

  it('the catalog-latency report opens in headless Chromium: uPlot timeline, the breaker opening and closing, breaker-open waterfalls, no console error', async () => {
    const result = results.get('catalog-latency');
    expect(result, 'catalog-latency did not run').toBeDefined();
    const zipkin = (
      (await controlCall(platform.state, 'GET', '/v1/status')) as { processes: ProcessStatus[] }
    ).processes.find((p) => p.name === 'zipkin' && p.state === 'running');
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      // Offline: the page must need nothing but itself.
      await page.route(/^(?!file:)/, (route) => route.abort());
      await page.goto(`file://${path.join(result?.reportDir ?? '', 'index.html')}`);
      await page.waitForSelector('#chart[data-rendered="yes"]', { timeout: 10_000 });
      expect(await page.locator('#verdict').textContent()).toBe('PASS');
      expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0); // drawn by uPlot
      expect(await page.locator('#chart').getAttribute('data-series')).toBe('4');
      expect(Number(await page.locator('#chart').getAttribute('data-faults'))).toBeGreaterThan(0);
      expect(await page.locator('#chart').getAttribute('data-phases')).toBe('4'); // steady, fault, grace, recovery
      expect(await page.locator('#history tr.this-run').count()).toBe(1);

      // The breaker panel: gateway → catalog open (2) during the fault, closed (0) at the end.
      const breaker = page.locator('.panel[data-title="Breaker state"]');
      expect(await breaker.locator('.chart[data-rendered="yes"] canvas').count()).toBeGreaterThan(0);
      const data = JSON.parse((await page.locator('#data').textContent()) ?? '{}') as {
        panels: { title: string; series: { label: string; values: (number | null)[] }[] }[];
      };
      const series = data.panels
        .find((p) => p.title === 'Breaker state')
        ?.series.find((s) => s.label === 'gateway → catalog');
      const states = (series?.values ?? []).filter((v): v is number => v !== null);
      // The state gauge is sampled every scrape (5 s): a breaker that opens and
      // probes between two scrapes can read closed at both, so the opening is
      // also read from the transitions counter, which misses no transition.
      const openings = (
        data.panels
          .find((p) => p.title === 'Breaker transitions')
          ?.series.find((s) => s.label === 'gateway → catalog: open')?.values ?? []
      ).filter((v): v is number => v !== null && v > 0);
      expect(
        states.includes(2) || openings.length > 0,
        `the breaker opened (states ${states.join(',')})`,
      ).toBe(true);
      expect(states.at(-1), 'and closed again').toBe(0);

      if (zipkin) {
        // Breaker-open answers in the fault phase: the marked span is the mesh call the breaker refused.
        const fault = page.locator('.wf-phase[data-phase="fault"]');
        expect(await fault.locator('.waterfall[data-why="degraded"]').count()).toBeGreaterThan(0);
        expect(
          await fault.locator('.wf-row.marked[data-error="MESH_ERR_BREAKER_OPEN"]').count(),
          'a waterfall marks the breaker-open span',
        ).toBeGreaterThan(0);
      } else {
        expect(await page.locator('#no-traces').textContent()).toMatch(/no Zipkin was running/);
      }
      expect(errors).toEqual([]);
      // Kept as a test artifact (reports/ is git-ignored).
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, 'catalog-latency-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('a broken mechanism fails its drill: stale copies off (catalog and gateway) → catalog-db-outage FAILS, the runner exits 1', async () => {
    await platform.stop(); // the broken platform gets its own run folder and environment
    const brokenRun = mkdtempSync(path.join(tmpdir(), 'bw-drills-broken-'));
    const brokenReports = mkdtempSync(path.join(tmpdir(), 'bw-drills-broken-reports-'));
    // Either layer alone keeps product reads served while catalog's PostgreSQL
    // is down, so both are switched off: catalog's stale cache and the
    // gateway's stale-if-error.
    const brokenGateway = writeGatewayVariant(brokenRun, 'gateway-no-stale', withoutStaleIfError);
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>(
        (resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              'local/src/drill/drill-cli.ts',
              'catalog-db-outage',
              '--short',
              '--run-dir',
              brokenRun,
              '--reports',
              brokenReports,
            ],
            {
              cwd: ROOT,
              env: {
                ...process.env,
                BW_GATEWAY_PORT: '0',
                BW_PROMETHEUS_PORT: '0',
                CATALOG_STALE_TTL_MS: '1',
                BW_GATEWAY_CONFIG: brokenGateway,
              },
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          child.stderr.on('data', (d: Buffer) => {
            out += d.toString();
          });
          const timer = setTimeout(() => child.kill('SIGINT'), 200_000);
          child.on('error', reject);
          child.on('close', (c) => {
            clearTimeout(timer);
            resolve({ code: c, output: out });
          });
        },
      );
      expect(code, output).toBe(1);
      expect(output).toMatch(/drill catalog-db-outage: FAIL/);
      // the failing line is the hypothesis itself: product reads in the fault phase not served
      expect(output).toMatch(/fault\s+catalog_product\s+\d+\s+\d+\.\d+ %.*served rate>=0\.99\s+FAIL/);
      const [report] = readdirSync(brokenReports);
      const verdict = JSON.parse(
        readFileSync(path.join(brokenReports, report ?? '', 'verdict.json'), 'utf8'),
      );
      expect(verdict).toMatchObject({ drill: 'catalog-db-outage', pass: false, exitCode: 99 });
    } finally {
      rmSync(brokenRun, { recursive: true, force: true });
      rmSync(brokenReports, { recursive: true, force: true });
    }
  }, 260_000);
});

describe('replica drills, short form, on a platform with instances', () => {
  let replicaRun: string;
  let replicaPlatform: PlatformHandle;

  beforeAll(async () => {
    replicaRun = mkdtempSync(path.join(tmpdir(), 'bw-drills-replicas-'));
    replicaPlatform = await ensurePlatform({
      root: ROOT,
      runDir: replicaRun,
      env: { BW_GATEWAY_PORT: '0', BW_PROMETHEUS_PORT: '0' },
      replicas: { catalog: 3, orders: 2 },
    });
    expect(replicaPlatform.started).toBe(true);
  }, 240_000);

  afterAll(async () => {
    await replicaPlatform?.stop();
    if (replicaRun) rmSync(replicaRun, { recursive: true, force: true });
  }, 120_000);

  // rolling-deploy renames every instance, slow-replica scales orders to three: both last.
  for (const name of ['bad-replica', 'replica-crash', 'rolling-deploy', 'slow-replica']) {
    const drill = drillByName(name);
    it(
      `${name} passes: ${drill?.summary}`,
      async () => {
        expect(drill?.replicas, `${name} declares its instances`).toBeDefined();
        const started = Date.now();
        const result = await runDrill(drill as NonNullable<typeof drill>, {
          root: ROOT,
          state: replicaPlatform.state,
          short: true,
          reportsDir,
        });
        const took = Date.now() - started;
        expect(result.pass, `\n${result.table}\nreport: ${result.reportDir}`).toBe(true);
        expect(result.exitCode).toBe(0);
        expect(took, `${name} took ${took} ms`).toBeLessThan(SHORT_DRILL_LIMIT_MS);
      },
      SHORT_DRILL_LIMIT_MS + 60_000,
    );
  }

  it('every replica drill is run here', () => {
    expect(
      DRILLS.filter((d) => d.replicas)
        .map((d) => d.name)
        .sort(),
    ).toEqual(['bad-replica', 'replica-crash', 'rolling-deploy', 'slow-replica']);
  });
});
