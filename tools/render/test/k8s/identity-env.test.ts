/**
 * The environment the `plain` overlay (identity-cluster-issuer) gives the
 * services works with the mesh's own code: certificates laid out as
 * csi-driver-spiffe writes them (tls.crt, tls.key, ca.crt) under
 * BW_TLS_DIR, orders calling catalog at its https:// URL, the readiness
 * probe's path answered in plain HTTP on BW_HEALTH_PORT, and Envoy
 * Gateway's client certificate (the Certificate's URI) accepted by the
 * services' authorization. Real TLS servers on loopback; only the folder
 * and the ports differ from a Pod.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createUpstream } from '@breakwater/mesh/client';
import { processIdentity, type SpiffeId, spiffeId } from '@breakwater/mesh/identity';
import { createRootCa, type RootCa } from '@breakwater/mesh/identity/issuer';
import { createServiceApp, healthFromEnv, type ServiceApp } from '@breakwater/mesh/server';
import { createLogger } from '@breakwater/observability';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type Manifest } from './manifests.ts';

const objs = build('k8s/overlays/plain');
const envOf = (name: string): Record<string, string> => {
  const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as Manifest;
  const ref = d.spec.template.spec.containers[0].envFrom.find((e: Manifest) => e.configMapRef).configMapRef
    .name;
  return objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref)?.data ?? {};
};
const probePath = (name: string) =>
  objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec.template.spec.containers[0]
    .readinessProbe.httpGet.path as string;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-identity-env-'));
let ca: RootCa;
let catalog: ServiceApp;
let catalogUrl: URL;
let healthPort: number | undefined;
const closers: Array<() => unknown> = [];

/** The Pod's environment with BW_TLS_DIR at a folder written as csi-driver-spiffe writes it. */
async function podEnv(workload: string, id: SpiffeId): Promise<Record<string, string>> {
  const env = envOf(workload);
  const dir = path.join(tmp, workload);
  mkdirSync(dir, { recursive: true });
  const leaf = await ca.issue(id, 3_600_000);
  writeFileSync(path.join(dir, env.BW_TLS_CERT_FILE ?? 'missing'), leaf.cert);
  writeFileSync(path.join(dir, env.BW_TLS_KEY_FILE ?? 'missing'), leaf.key);
  writeFileSync(path.join(dir, env.BW_TLS_CA_FILE ?? 'missing'), ca.cert);
  return { ...env, BW_TLS_DIR: dir };
}

beforeAll(async () => {
  ca = await createRootCa();
  const env = await podEnv('catalog', spiffeId('catalog'));
  const identity = processIdentity(env);
  if (identity === undefined) throw new Error('catalog: no identity from its overlay environment');
  closers.push(() => identity.close());
  expect(healthFromEnv(env)).toEqual({ health: { port: 9090 } });
  catalog = createServiceApp({
    service: 'catalog',
    signals: [],
    drainDelayMs: 0,
    identity,
    health: { port: 0 }, // the Pod's 9090, a free port here
    logger: createLogger({ service: 'catalog', level: 'warn' }),
    routes: (r) => {
      r.get('/products', (_req, res) => {
        res.json({ items: [] });
      });
    },
  });
  const out = await catalog.listen({ port: 0 });
  healthPort = out.healthPort;
  catalogUrl = new URL(`https://127.0.0.1:${out.port}`);
});

afterAll(async () => {
  await catalog?.shutdown();
  for (const c of closers) await c();
  rmSync(tmp, { recursive: true, force: true });
});

/** An upstream to catalog as `workload` (its overlay env, the identity `id`) would build it. */
async function callerOf(workload: string, id: SpiffeId) {
  const env = await podEnv(workload, id);
  const identity = processIdentity(env);
  if (identity === undefined) throw new Error(`${workload}: no identity`);
  closers.push(() => identity.close());
  const up = createUpstream({
    name: 'catalog',
    baseUrl: `https://${catalogUrl.host}`, // catalog:80 is the Service; here the server itself
    identity,
    policy: { retry: { maxRetries: 0 } },
  });
  closers.push(() => up.close());
  return up;
}

describe('the cluster-issuer environment, run by the mesh code', () => {
  it('orders calls catalog over mTLS with certificates in csi-driver-spiffe layout', async () => {
    expect(envOf('orders').CATALOG_URL).toMatch(/^https:\/\/catalog:/);
    const up = await callerOf('orders', spiffeId('orders'));
    expect((await up.request({ path: '/products' })).status).toBe(200);
  });

  it("the kubelet's readiness probe path answers in plain HTTP on the health port", async () => {
    expect(healthPort).toBeGreaterThan(0);
    const res = await request(`http://127.0.0.1:${healthPort}${probePath('catalog')}`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it("Envoy Gateway's client certificate id (envoy-gateway overlay) is served as the gateway would be", async () => {
    const eg = build('k8s/overlays/envoy-gateway');
    const cert = eg.find((o) => o.kind === 'Certificate' && o.spec.uris !== undefined);
    const id = cert?.spec.uris[0] as SpiffeId;
    expect(id).toMatch(/^spiffe:\/\//);
    const up = await callerOf('gateway', id);
    expect((await up.request({ path: '/products' })).status).toBe(200);
    // and a workload without an edge to catalog is still refused
    const notifications = await callerOf('notifications', spiffeId('notifications'));
    expect((await notifications.request({ path: '/products', throwOnStatus: false })).status).toBe(403);
  });
});
