/**
 * Prometheus scrapes every instance, scaled or not: `up --replicas catalog=2`
 * with a real Prometheus as a child process; its targets API shows each
 * catalog instance with `instance` and `pod` set to the instance's name, and
 * `scale catalog 3` / `scale catalog 1` add and drop targets without a
 * Prometheus restart (file_sd, re-read on change).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instancesTargetsFile, type TargetGroup } from '../src/scrape-targets.ts';
import { cli, processOf, startUp, stopUp, type UpRun } from './fixtures/up-process.ts';

interface ActiveTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
}

/** Polls until `accept` holds for catalog's active targets (deadline 30 s: file_sd refresh 5 s, scrape 5 s). */
async function catalogTargets(
  prometheusUrl: string,
  accept: (ts: ActiveTarget[]) => boolean,
): Promise<ActiveTarget[]> {
  const deadline = Date.now() + 30_000;
  let last: ActiveTarget[] = [];
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/targets?state=active`)).json()) as {
      data: { activeTargets: ActiveTarget[] };
    };
    last = body.data.activeTargets.filter((t) => t.labels.job === 'catalog');
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`catalog targets never matched: ${JSON.stringify(last.map((t) => [t.labels, t.health]))}`);
}

const healthyNames = (ts: ActiveTarget[]) =>
  ts
    .filter((t) => t.health === 'up')
    .map((t) => t.labels.instance)
    .sort();

describe('Prometheus scrapes every instance (end to end)', { timeout: 180_000 }, () => {
  let runDir: string;
  let common: string[];
  let run: UpRun | undefined;
  let prometheusUrl: string;

  beforeAll(async () => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'bw-scrape-'));
    common = ['--run-dir', runDir];
    run = await startUp([
      ...common,
      '--replicas',
      'catalog=2',
      '--only',
      'redis,pg-catalog,catalog-1,catalog-2,prometheus',
      '--prometheus-port',
      '0',
    ]);
    prometheusUrl = processOf(runDir, 'prometheus')?.url as string;
  });

  afterAll(async () => {
    await stopUp(run);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('lists each instance in the file_sd file with job, instance and pod labels', () => {
    const groups = JSON.parse(readFileSync(instancesTargetsFile(runDir), 'utf8')) as TargetGroup[];
    // mTLS is on (the default run): services are scraped over https with Prometheus's certificate.
    expect(groups.map((g) => g.labels)).toEqual([
      { job: 'catalog', instance: 'catalog-1', pod: 'catalog-1', __scheme__: 'https' },
      { job: 'catalog', instance: 'catalog-2', pod: 'catalog-2', __scheme__: 'https' },
    ]);
    expect(new Set(groups.map((g) => g.targets[0])).size).toBe(2);
  });

  it('scrapes both instances, each under its own name', async () => {
    const ts = await catalogTargets(prometheusUrl, (t) => healthyNames(t).length === 2);
    expect(healthyNames(ts)).toEqual(['catalog-1', 'catalog-2']);
    expect(ts.map((t) => t.labels.pod).sort()).toEqual(['catalog-1', 'catalog-2']);
  });

  it('scale catalog 3: the new instance is scraped without a Prometheus restart', async () => {
    const pid = processOf(runDir, 'prometheus')?.pid;
    const res = await cli(['scale', 'catalog', '3', ...common]);
    expect(res.code, res.stderr).toBe(0);
    const ts = await catalogTargets(prometheusUrl, (t) => healthyNames(t).length === 3);
    expect(healthyNames(ts)).toEqual(['catalog-1', 'catalog-2', 'catalog-3']);
    // Its series carry the instance label: the per-instance panels can tell them apart.
    const q = await (
      await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="catalog"}')}`)
    ).json();
    const instances = (q as { data: { result: { metric: Record<string, string> }[] } }).data.result
      .map((r) => r.metric.instance)
      .sort();
    expect(instances).toContain('catalog-1');
    const after = processOf(runDir, 'prometheus')?.pid;
    expect(after).toBe(pid);
  });

  it('scale catalog 1: removed instances are no longer scraped (no false InstanceDown)', async () => {
    const res = await cli(['scale', 'catalog', '1', ...common]);
    expect(res.code, res.stderr).toBe(0);
    const ts = await catalogTargets(prometheusUrl, (t) => t.length === 1);
    expect(ts.map((t) => [t.labels.instance, t.health])).toEqual([['catalog-1', 'up']]);
  });
});
