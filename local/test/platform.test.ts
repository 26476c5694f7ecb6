import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CertificateAuthority } from '../src/certificate-authority.ts';
import { isLocalError } from '../src/errors.ts';
import { findGrafana } from '../src/grafana.ts';
import type { ProcessSpec } from '../src/managed-process.ts';
import { nodeFlags } from '../src/node-flags.ts';
import {
  buildPlatform,
  endpointsFile,
  instancesOf,
  PLATFORM,
  type PlatformEntry,
  type PlatformOptions,
  SERVICES,
} from '../src/platform.ts';
import { prometheusConfig } from '../src/prometheus.ts';
import { targetGroups } from '../src/scrape-targets.ts';

const TOKEN = 'admin-token-for-platform-tests';

describe('buildPlatform', () => {
  let root: string;
  let runDir: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'bw-platform-'));
    runDir = path.join(root, '.run');
    // A repo where catalog, orders, frontend and the gateway exist; payments and notifications do not yet.
    for (const main of [
      'services/catalog/src/main.ts',
      'services/orders/src/main.ts',
      'services/frontend/src/main.ts',
      'gateway/src/main.ts',
    ]) {
      mkdirSync(path.join(root, path.dirname(main)), { recursive: true });
      writeFileSync(path.join(root, main), '');
    }
    writeFileSync(
      path.join(root, 'gateway', 'gateway.yaml'),
      'consumers:\n  - name: shop-frontend\n    apiKeys: [public-key-1]\n',
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** The platform with any free gateway and Prometheus ports, and its specs by name. */
  async function build(extra: Partial<PlatformOptions> = {}) {
    const platform = await buildPlatform({
      root,
      runDir,
      adminToken: TOKEN,
      gatewayPort: 0,
      prometheusPort: 0,
      ...extra,
    });
    return { platform, byName: new Map(platform.specs.map((s) => [s.name, s])) };
  }

  it('follows the conventions: names, env, a database per service, one gateway port', async () => {
    const { platform, byName } = await build();
    expect(platform.skipped.map((s) => s.name)).toEqual([
      'payments',
      'notifications',
      ...(findGrafana() ? [] : ['grafana']), // Grafana only where one is installed
      'zipkin', // this temporary root pins no Zipkin jar
    ]);
    expect(platform.skipped[0]?.reason).toBe('services/payments/src/main.ts does not exist yet');
    const skipped = new Set(platform.skipped.map((s) => s.name));
    expect([...byName.keys()]).toEqual(PLATFORM.map((e) => e.name).filter((n) => !skipped.has(n)));

    const catalog = byName.get('catalog');
    const pgCatalog = byName.get('pg-catalog');
    expect(catalog?.command).toBe(process.execPath);
    expect(catalog?.args).toEqual([...nodeFlags('service'), 'services/catalog/src/main.ts']);
    expect(catalog?.cwd).toBe(root);
    expect(catalog?.env).toMatchObject({
      HOST: '127.0.0.1',
      PORT: String(catalog?.port),
      BW_SERVICE: 'catalog',
      BW_ADMIN_PORT: String(catalog?.adminPort),
      BW_ADMIN_TOKEN: TOKEN,
      REDIS_URL: `redis://127.0.0.1:${byName.get('redis')?.port}`,
    });
    expect(catalog?.env?.DATABASE_URL).toMatch(
      new RegExp(`^postgres://catalog:[^@]+@127\\.0\\.0\\.1:${pgCatalog?.port}/catalog$`),
    );
    expect(byName.get('orders')?.env).toMatchObject({ CATALOG_URL: `http://127.0.0.1:${catalog?.port}` });
    expect(byName.get('orders')?.env?.DATABASE_URL).toMatch(
      /^postgres:\/\/orders:[^@]+@127\.0\.0\.1:\d+\/orders$/,
    );
    expect(byName.get('frontend')?.env).toMatchObject({ FRONTEND_API_KEY: 'public-key-1' });

    const g1 = byName.get('gateway-1');
    const g2 = byName.get('gateway-2');
    expect(g1?.port).toBe(g2?.port);
    expect(g2?.sharedPort).toBe(true);
    expect(g1?.adminPort).not.toBe(g2?.adminPort);
    expect(g2?.env).toMatchObject({
      BW_SERVICE: 'gateway-2',
      GATEWAY_CONFIG: 'gateway/gateway.yaml',
      GATEWAY_ADMIN_PORT: String(g2?.adminPort),
      GATEWAY_ADMIN_TOKEN: TOKEN,
      CATALOG_URL: `http://127.0.0.1:${catalog?.port}`,
      FRONTEND_URL: `http://127.0.0.1:${byName.get('frontend')?.port}`,
    });
    // payments is not written yet but the gateway still gets an address for it
    expect(g1?.env?.PAYMENTS_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // every process has its own port except the gateway pair
    const ports = platform.specs.filter((s) => s.name !== 'gateway-2').map((s) => s.port);
    const adminPorts = platform.specs.map((s) => s.adminPort).filter((p) => p !== undefined);
    expect(new Set([...ports, ...adminPorts]).size).toBe(ports.length + adminPorts.length);

    expect(platform.notes.some((n) => n.startsWith(`Shop: http://127.0.0.1:${g1?.port}/`))).toBe(true);
    // the live-tuning hint names gateway-1's own admin port and the run's token
    expect(platform.notes).toContain(
      `  export GATEWAY_ADMIN_URL=http://127.0.0.1:${g1?.adminPort} GATEWAY_ADMIN_TOKEN=${g1?.env?.GATEWAY_ADMIN_TOKEN}`,
    );
    expect(byName.get('pg-orders')?.url).toMatch(/^postgres:\/\/orders:\*\*\*@127\.0\.0\.1:\d+\/orders$/);
  });

  it('hands out ports from --port-base in order', async () => {
    const entries: PlatformEntry[] = [
      { name: 'redis', kind: 'redis', tier: 0 },
      { name: 'pg-catalog', kind: 'postgres', tier: 0, owner: 'catalog' },
    ];
    const platform = await buildPlatform({ root, runDir, adminToken: TOKEN, entries, portBase: 41_000 });
    expect(platform.specs.map((s) => s.port)).toEqual([41_000, 41_001]);
  });

  it('refuses an unknown name in --only, listing the valid ones', async () => {
    const err = await buildPlatform({ root, runDir, adminToken: TOKEN, only: ['redis', 'bogus'] }).catch(
      (e: unknown) => e,
    );
    expect(isLocalError(err, 'LOCAL_ERR_UNKNOWN_PROCESS')).toBe(true);
    expect((err as Error).message).toMatch(/^unknown process "bogus": choose one of redis, pg-catalog, /);
  });

  it('names replicas <service>-<n>, gives each its own port and points callers at the endpoints file', async () => {
    const { platform, byName } = await build({ replicas: { catalog: 3, gateway: 3 } });
    expect(platform.discovery).toBe(true);
    const catalogs = ['catalog-1', 'catalog-2', 'catalog-3'].map((n) => byName.get(n));
    expect(byName.has('catalog')).toBe(false);
    expect(new Set(catalogs.map((c) => c?.port)).size).toBe(3);
    // Instances share the service's name (metric labels); logs and status tell them apart.
    expect(catalogs.map((c) => [c?.service, c?.env?.BW_SERVICE, c?.logFile])).toEqual(
      [1, 2, 3].map((n) => ['catalog', 'catalog', path.join(runDir, 'logs', `catalog-${n}.log`)]),
    );
    expect(byName.get('orders')?.env).toMatchObject({
      CATALOG_URL: `http://127.0.0.1:${catalogs[0]?.port}`,
      CATALOG_ENDPOINTS_FILE: endpointsFile(runDir, 'catalog'),
    });
    // Three gateways on one port; one instance of orders keeps its plain name.
    const gateways = ['gateway-1', 'gateway-2', 'gateway-3'].map((n) => byName.get(n));
    expect(new Set(gateways.map((g) => g?.port)).size).toBe(1);
    expect(gateways[0]?.env?.CATALOG_ENDPOINTS_FILE).toBe(endpointsFile(runDir, 'catalog'));

    // A new instance for `scale`: fresh ports, the same service.
    const fourth = await platform.newInstance('catalog', 'catalog-4');
    expect(fourth.service).toBe('catalog');
    expect(catalogs.map((c) => c?.port)).not.toContain(fourth.port);
    expect(fourth.name).toBe('catalog-4');
    expect(fourth.env).toMatchObject({ BW_SERVICE: 'catalog', PORT: String(fourth.port) });
  });

  it("with the run's CA: https service URLs, a certificate folder per process, mTLS probes and scrapes", async () => {
    const ca = await CertificateAuthority.start({ dir: path.join(runDir, 'ca') });
    try {
      const { platform, byName } = await build({ ca });
      const catalog = byName.get('catalog');
      expect(catalog?.url).toBe(`https://127.0.0.1:${catalog?.port}`);
      expect(catalog?.env?.BW_TLS_DIR).toBe(ca.identityDir('catalog'));
      expect(byName.get('orders')?.env?.CATALOG_URL).toBe(`https://127.0.0.1:${catalog?.port}`);
      expect(byName.get('gateway-1')?.env?.BW_TLS_DIR).toBe(ca.identityDir('gateway-1'));
      expect(byName.get('gateway-1')?.url).toMatch(/^http:\/\//); // north-south stays plain HTTP
      expect(catalog?.ready.describe).toBe(`GET https://127.0.0.1:${catalog?.port}/health/ready answers 200`);
      await catalog?.prepare?.();
      expect(existsSync(path.join(ca.identityDir('catalog'), 'cert.pem'))).toBe(true);
      expect(existsSync(path.join(ca.identityDir('supervisor'), 'cert.pem'))).toBe(true);
      expect(platform.notes.some((n) => n.includes(ca.caFile))).toBe(true);
    } finally {
      ca.close();
    }
  });

  it('keeps the default topology static: no endpoints files, the same names', async () => {
    const { platform, byName } = await build();
    expect(platform.discovery).toBe(false);
    expect(byName.get('orders')?.env?.CATALOG_ENDPOINTS_FILE).toBeUndefined();
    expect(instancesOf(SERVICES).map((e) => e.name)).toEqual(PLATFORM.map((e) => e.name));
    expect(PLATFORM.filter((e) => e.service === 'gateway').map((e) => e.name)).toEqual([
      'gateway-1',
      'gateway-2',
    ]);
  });
});

describe('prometheusConfig', () => {
  it('scrapes itself and whatever the file_sd folder lists, and loads the rule files', () => {
    const config = parse(
      prometheusConfig(['/repo/observability/prometheus/rules/red.yml'], 9090, '/run/prometheus/targets'),
    ) as {
      rule_files: string[];
      scrape_configs: { job_name: string; file_sd_configs?: { files: string[] }[] }[];
    };
    expect(config.rule_files).toEqual(['/repo/observability/prometheus/rules/red.yml']);
    expect(config.scrape_configs.map((c) => [c.job_name, c.file_sd_configs?.[0]?.files])).toEqual([
      ['prometheus', undefined],
      ['file-sd', ['/run/prometheus/targets/*.json']],
    ]);
  });
});

describe('prometheusConfig with mTLS', () => {
  it("scrapes https targets with Prometheus's own certificate and the mesh CA, plain ones as before", () => {
    const tls = { caFile: '/run/ca/ca.pem', certFile: '/run/p/cert.pem', keyFile: '/run/p/key.pem' };
    const config = parse(prometheusConfig([], 9090, '/run/prometheus/targets', tls)) as {
      scrape_configs: { job_name: string; tls_config?: Record<string, unknown> }[];
    };
    expect(config.scrape_configs.find((c) => c.job_name === 'file-sd')?.tls_config).toMatchObject({
      ca_file: tls.caFile,
      cert_file: tls.certFile,
      key_file: tls.keyFile,
    });
    const spec = (name: string, url: string, port: number, metricsPort: number) =>
      ({ name, service: name, url, port, metricsPort }) as unknown as ProcessSpec;
    const groups = targetGroups([
      spec('catalog', 'https://127.0.0.1:4001', 4001, 4001),
      spec('gateway-1', 'http://127.0.0.1:8080', 8080, 4100),
    ]);
    expect(groups[0]?.labels.__scheme__).toBe('https');
    expect(groups[1]?.labels.__scheme__).toBeUndefined();
  });
});
