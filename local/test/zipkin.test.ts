import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countedApart } from '../src/footprint.ts';
import { startZipkin } from '../src/harness.ts';
import { buildPlatform, type PlatformEntry } from '../src/platform.ts';
import { pidRunning } from '../src/stale.ts';
import {
  findJava,
  findZipkin,
  javaMajor,
  releaseMajor,
  ZIPKIN_ENDPOINT_ENV,
  ZIPKIN_HEAP_MIB,
} from '../src/zipkin.ts';

describe('finding Zipkin', () => {
  let root: string;
  const NO_JAVA = { PATH: '/nonexistent-bin' };

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'bw-zipkin-find-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the major version the way java -version prints it', () => {
    expect(javaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(javaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(javaMajor('java version "1.8.0_392"')).toBe(8);
    expect(javaMajor('bash: java: command not found')).toBeUndefined();
  });

  it('reads the major version from the release file of the JDK a java binary belongs to', () => {
    const jdk = path.join(root, 'jdk-21');
    mkdirSync(path.join(jdk, 'bin'), { recursive: true });
    writeFileSync(path.join(jdk, 'bin', 'java'), '');
    writeFileSync(path.join(jdk, 'release'), 'IMPLEMENTOR="Test"\nJAVA_VERSION="21.0.2"\n');
    expect(releaseMajor(path.join(jdk, 'bin', 'java'))).toBe(21);
    writeFileSync(path.join(jdk, 'release'), 'JAVA_VERSION="1.8.0_392"\n');
    expect(releaseMajor(path.join(jdk, 'bin', 'java'))).toBe(8);
    rmSync(path.join(jdk, 'release'));
    expect(releaseMajor(path.join(jdk, 'bin', 'java'))).toBeUndefined();
  });

  it('says what is missing: the pin, then Java, then the jar', () => {
    expect(findZipkin(root, NO_JAVA)).toEqual({
      missing: 'ZIPKIN_VERSION is not pinned in tools/versions.env',
    });
    mkdirSync(path.join(root, 'tools'), { recursive: true });
    writeFileSync(
      path.join(root, 'tools', 'versions.env'),
      'NODE_VERSION=24.21.0\nZIPKIN_VERSION=9.9.9  # test\n',
    );
    expect(findZipkin(root, NO_JAVA)).toEqual({
      missing: expect.stringMatching(
        /^java not found: Zipkin needs Java >= 17 \(Debian\/Ubuntu: apt-get install/,
      ),
    });
    // npm test's bootstrap installs Java (ensure_zipkin), so it is here.
    expect(findJava()).toEqual(expect.stringMatching(/java$/));
    expect(findZipkin(root)).toEqual({
      missing:
        '.tools/zipkin/zipkin-server-9.9.9-exec.jar is missing: the bootstrap downloads it from Maven Central (npm start, npm test)',
    });
  });
});

describe('Zipkin in the platform', () => {
  let root: string;
  const entries: PlatformEntry[] = [
    { name: 'catalog', service: 'catalog', kind: 'service', tier: 1, main: 'services/catalog/src/main.ts' },
    { name: 'zipkin', service: 'zipkin', kind: 'zipkin', tier: 0 },
  ];

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'bw-zipkin-platform-'));
    mkdirSync(path.join(root, 'services', 'catalog', 'src'), { recursive: true });
    writeFileSync(path.join(root, 'services', 'catalog', 'src', 'main.ts'), '');
    mkdirSync(path.join(root, 'tools'), { recursive: true });
    writeFileSync(path.join(root, 'tools', 'versions.env'), 'ZIPKIN_VERSION=3.6.1\n');
    mkdirSync(path.join(root, '.tools', 'zipkin'), { recursive: true });
    writeFileSync(path.join(root, '.tools', 'zipkin', 'zipkin-server-3.6.1-exec.jar'), '');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const build = () =>
    buildPlatform({ root, runDir: path.join(root, '.run'), adminToken: 'zipkin-test-token', entries });

  it('without Java: not started, a note says why, and no process is told to export', async () => {
    const pathBefore = process.env.PATH;
    const javaHomeBefore = process.env.JAVA_HOME;
    process.env.PATH = '/nonexistent-bin';
    delete process.env.JAVA_HOME;
    try {
      const platform = await build();
      expect(platform.skipped).toEqual([
        { name: 'zipkin', reason: 'no Java 17 or Zipkin jar (see the note below the table)' },
      ]);
      expect(platform.notes).toContainEqual(
        expect.stringMatching(
          /^Zipkin: not started, spans are not exported: java not found: Zipkin needs Java >= 17/,
        ),
      );
      expect(platform.specs.map((s) => s.name)).toEqual(['catalog']);
      expect(platform.specs[0]?.env?.[ZIPKIN_ENDPOINT_ENV]).toBeUndefined();
    } finally {
      process.env.PATH = pathBefore;
      if (javaHomeBefore !== undefined) process.env.JAVA_HOME = javaHomeBefore;
    }
  });

  it('with Java: bounded, on loopback, and every process exports to it', async () => {
    const platform = await build();
    const zipkin = platform.specs.find((s) => s.name === 'zipkin');
    const catalog = platform.specs.find((s) => s.name === 'catalog');
    expect(zipkin?.kind).toBe('zipkin');
    expect(zipkin?.url).toBe(`http://127.0.0.1:${zipkin?.port}`);
    expect(zipkin?.args).toEqual(
      expect.arrayContaining([
        `-Xmx${ZIPKIN_HEAP_MIB}m`,
        `--armeria.ports[0].port=${zipkin?.port}`,
        '--armeria.ports[0].ip=127.0.0.1',
      ]),
    );
    expect(zipkin?.env).toMatchObject({ STORAGE_TYPE: 'mem', SELF_TRACING_ENABLED: 'false' });
    expect(Number(zipkin?.env?.MEM_MAX_SPANS)).toBeGreaterThan(0);
    expect(catalog?.env?.[ZIPKIN_ENDPOINT_ENV]).toBe(`${zipkin?.url}/api/v2/spans`);
    expect(platform.notes).toContainEqual(
      `Zipkin (traces): ${zipkin?.url}/zipkin/  (a trace by the trace_id of an access-log line: ${zipkin?.url}/zipkin/traces/<trace_id>)`,
    );
  });
});

describe('startZipkin (harness)', () => {
  it('stores the spans posted to spansEndpoint and answers them by trace id; stop() leaves nothing', async () => {
    const zipkin = await startZipkin();
    const pid = zipkin.pid as number;
    try {
      expect(zipkin.spansEndpoint).toBe(`${zipkin.url}/api/v2/spans`);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const span = {
        traceId,
        id: '00f067aa0ba902b7',
        name: 'post /orders',
        kind: 'SERVER',
        timestamp: Date.now() * 1000,
        duration: 1500,
        localEndpoint: { serviceName: 'orders' },
      };
      const posted = await fetch(zipkin.spansEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([span]),
      });
      expect(posted.status).toBe(202);
      // The collector stores asynchronously: poll with a deadline.
      let stored: { id: string; localEndpoint: { serviceName: string } }[] = [];
      for (const deadline = Date.now() + 10_000; stored.length === 0 && Date.now() < deadline; ) {
        const res = await fetch(`${zipkin.url}/api/v2/trace/${traceId}`);
        if (res.status === 200) stored = (await res.json()) as typeof stored;
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(stored).toEqual([
        expect.objectContaining({ id: span.id, localEndpoint: { serviceName: 'orders' } }),
      ]);
    } finally {
      await zipkin.stop();
    }
    expect(pidRunning(pid)).toBe(false);
    expect(existsSync(zipkin.dir)).toBe(false);
  }, 240_000);

  it('is counted apart from the platform in the footprint', () => {
    expect(countedApart({ kind: 'zipkin', group: 'traces' })).toBe(true);
    expect(countedApart({ kind: 'service', group: 'catalog' })).toBe(false);
  });
});
