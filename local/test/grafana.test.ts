import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findGrafana, grafanaSpec } from '../src/grafana.ts';
import { buildPlatform, PLATFORM } from '../src/platform.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'bw-grafana-'));
  dirs.push(d);
  return d;
}

/** A folder on PATH holding an executable named `name` (discovery only reads the file system). */
function binDir(name: string): string {
  const d = path.join(tempDir(), 'bin');
  mkdirSync(d);
  writeFileSync(path.join(d, name), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(d, name), 0o755);
  return d;
}

describe('grafana', () => {
  it('is found as `grafana server`, else as the older grafana-server, else not at all', () => {
    expect(findGrafana(tempDir())).toBeUndefined();
    expect(findGrafana(binDir('grafana'))?.args).toEqual(['server']);
    const legacy = findGrafana(binDir('grafana-server'));
    expect(legacy?.command.endsWith('/grafana-server')).toBe(true);
    expect(legacy?.args).toEqual([]);
  });

  it('starts against the generated provisioning, anonymous viewer, on loopback', () => {
    const spec = grafanaSpec({
      binary: { command: '/usr/sbin/grafana', args: ['server'], homepath: '/usr/share/grafana' },
      root: ROOT,
      dir: '/tmp/run/grafana',
      port: 3123,
      prometheusUrl: 'http://127.0.0.1:9090',
      zipkinUrl: 'http://127.0.0.1:9411',
      logFile: '/tmp/run/logs/grafana.log',
    });
    expect(spec.args).toEqual(['server', '--homepath=/usr/share/grafana']);
    expect(spec.env).toMatchObject({
      GF_PATHS_PROVISIONING: path.join(ROOT, 'observability/grafana/provisioning'),
      BW_ROOT: ROOT,
      PROMETHEUS_URL: 'http://127.0.0.1:9090',
      ZIPKIN_URL: 'http://127.0.0.1:9411',
      GF_SERVER_HTTP_ADDR: '127.0.0.1',
      GF_SERVER_HTTP_PORT: '3123',
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
    });
    expect(spec.ready.describe).toBe('GET http://127.0.0.1:3123/api/health answers 200');
  });

  it('where none is installed, up skips it and says how to get one and how to load the dashboards', async () => {
    const saved = process.env.PATH;
    process.env.PATH = tempDir(); // no grafana here
    try {
      const platform = await buildPlatform({
        root: ROOT,
        runDir: tempDir(),
        adminToken: 't',
        entries: PLATFORM.filter((e) => e.kind === 'grafana' || e.kind === 'prometheus'),
        prometheusPort: 0,
      });
      expect(platform.specs.some((s) => s.name === 'grafana')).toBe(false);
      expect(platform.skipped.map((s) => s.name)).toContain('grafana');
      const note = platform.notes.join('\n');
      expect(note).toContain('Grafana: not installed');
      expect(note).toContain('observability/grafana/dashboards/*.json');
    } finally {
      process.env.PATH = saved;
    }
  });
});
