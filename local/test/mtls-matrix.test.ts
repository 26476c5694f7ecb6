/**
 * Live enforcement of mesh/policy.yaml: the real services (every HTTP
 * server of the shop, with their databases and Redis) started by the
 * platform list and supervisor with the run's CA, then every caller
 * identity against every service. An edge in the policy is served (the
 * static test in tools/render proves the code's edges are exactly the
 * policy's, so every edge the code uses is among them), with a request its
 * rules allow; every other pair is refused with 403 MESH_ERR_FORBIDDEN; an
 * allowed caller is refused a method or path outside its edge's rules, and
 * counted; a caller without a certificate does not get past the handshake;
 * Prometheus may read /metrics and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkloadIdentity } from '@breakwater/mesh/identity';
import { edge, edgeOperations, policyEdges } from '@breakwater/mesh/policy/edges';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_IDENTITY } from '../src/certificate-authority.ts';
import { type CertificateAuthorityHandle, startCertificateAuthority } from '../src/harness.ts';
import { buildPlatform, PLATFORM } from '../src/platform.ts';
import { Supervisor } from '../src/supervisor.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const policy = loadPolicy();
/** The shop's HTTP servers (everything that is not a datastore, but the gateway: its public port is plain HTTP). */
const SERVERS = Object.entries(policy.workloads)
  .filter(([, w]) => w.kind !== 'datastore' && !w.public)
  .map(([name]) => name);
/** Callers: every workload of the policy, and one identity the policy does not know. */
const CALLERS = [
  ...Object.keys(policy.workloads).filter((w) => policy.workloads[w]?.kind !== 'datastore'),
  'intruder',
];
const ALLOWED = new Set(policyEdges(policy));

let runDir: string;
let ca: CertificateAuthorityHandle;
let supervisor: Supervisor;
const urls = new Map<string, string>();
const agents = new Map<string, Agent>();

function agentFor(name: string, dir: string | undefined): Agent {
  const id = dir ? new WorkloadIdentity(dir, { watch: false }).current : undefined;
  const a = new Agent({
    connect: {
      ca: id?.ca ?? undefined,
      ...(id ? { cert: id.cert, key: id.key } : {}),
      rejectUnauthorized: id !== undefined,
      checkServerIdentity: () => undefined,
    },
  });
  agents.set(name, a);
  return a;
}

async function call(
  caller: string,
  server: string,
  method: string,
  p: string,
): Promise<{ status: number; code?: string; detail?: string }> {
  const agent = agents.get(caller) as Agent;
  const res = await request(`${urls.get(server)}${p}`, { method, dispatcher: agent, headersTimeout: 5_000 });
  const text = await res.body.text();
  const problem = res.statusCode === 403 ? (JSON.parse(text) as { code: string; detail: string }) : undefined;
  return { status: res.statusCode, ...(problem ? { code: problem.code, detail: problem.detail } : {}) };
}

const get = (caller: string, server: string, p: string) => call(caller, server, 'GET', p);

/** A request the edge's rules allow (GET where they allow it; `*` in a path made concrete); GET / without rules. */
function allowedRequest(caller: string, server: string): { method: string; path: string } {
  const ops = edgeOperations(policy, caller, server);
  if (ops === undefined) return { method: 'GET', path: '/' };
  const op =
    ops.find((o) => o.methods === undefined || o.methods.includes('GET')) ?? (ops[0] as (typeof ops)[0]);
  const method = op.methods === undefined || op.methods.includes('GET') ? 'GET' : (op.methods[0] as string);
  const p = op.paths?.[0] ?? '/';
  return { method, path: p === '*' ? '/' : p.startsWith('*') ? `/x${p.slice(1)}` : p.replace(/\*$/, 'x') };
}

beforeAll(async () => {
  runDir = mkdtempSync(path.join(tmpdir(), 'bw-mtls-matrix-'));
  ca = await startCertificateAuthority();
  const platform = await buildPlatform({
    root: ROOT,
    runDir,
    gatewayPort: 0,
    adminToken: 'mtls-matrix-admin-token-0123456789',
    ca,
    only: PLATFORM.filter((e) => !['prometheus', 'grafana', 'gateway'].includes(e.kind)).map((e) => e.name),
  });
  supervisor = new Supervisor(platform.specs);
  await supervisor.startAll();
  for (const s of SERVERS) {
    const url = supervisor.get(s).status().url;
    if (!url?.startsWith('https://')) throw new Error(`${s} is not served over https: ${url}`);
    urls.set(s, url);
  }
  for (const c of CALLERS) agentFor(c, await ca.issue(`caller-${c}`, c));
  agentFor('prometheus', await ca.issue('caller-prometheus', PROMETHEUS_IDENTITY));
  agentFor('no-certificate', undefined);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([...agents.values()].map((a) => a.close()));
  const apps = supervisor?.processes.filter((p) => p.spec.kind === 'service') ?? [];
  await Promise.allSettled(apps.map((p) => p.kill()));
  await supervisor?.stopAll();
  await ca?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

describe('mesh/policy.yaml enforced live, every identity against every service', () => {
  it('serves exactly the edges of the policy and refuses every other pair with 403 MESH_ERR_FORBIDDEN', async () => {
    const served: string[] = [];
    const refused: string[] = [];
    for (const caller of CALLERS)
      for (const server of SERVERS) {
        if (caller === server) continue;
        const { method, path: p } = allowedRequest(caller, server);
        const r = await call(caller, server, method, p);
        if (r.status === 403) {
          expect(r.code, `${caller} -> ${server}`).toBe('MESH_ERR_FORBIDDEN');
          refused.push(edge(caller, server));
        } else {
          expect(r.status, `${caller} -> ${server}`).toBeLessThan(500);
          served.push(edge(caller, server));
        }
      }
    const httpEdges = [...ALLOWED].filter((e) => SERVERS.includes(e.split(' -> ')[1] as string)).sort();
    expect(served.sort()).toEqual(httpEdges);
    expect(refused.length + served.length).toBe(CALLERS.length * SERVERS.length - SERVERS.length);
    expect(refused).toContain(edge('intruder', 'payments'));
    expect(refused).toContain(edge('notifications', 'catalog'));
  });

  it("refuses an allowed caller a method or path outside its edge's rules: 403 naming the check", async () => {
    // orders -> catalog: only its reservation routes and GET /products (its breaker's probe)
    const wrongMethod = await call('orders', 'catalog', 'POST', '/products');
    expect(wrongMethod).toMatchObject({ status: 403, code: 'MESH_ERR_FORBIDDEN' });
    expect(wrongMethod.detail).toContain('orders may not POST /products on catalog');
    expect(await call('orders', 'catalog', 'GET', '/products/sku-0001')).toMatchObject({ status: 403 });
    // gateway -> catalog: read-only product routes; not the reservations, not catalog's metrics
    expect(await call('gateway', 'catalog', 'POST', '/reservations')).toMatchObject({ status: 403 });
    expect((await get('gateway', 'catalog', '/metrics')).detail).toContain('gateway may not GET /metrics');
    // gateway -> orders: POST only on the collection
    expect(await call('gateway', 'orders', 'POST', '/orders/x')).toMatchObject({ status: 403 });
    // and what the rules allow is served
    expect((await get('orders', 'catalog', '/products?limit=1')).status).toBe(200);
    expect((await get('gateway', 'catalog', '/products/sku-0001')).status).toBe(200);
  });

  it('lets Prometheus read /metrics of every service and nothing else', async () => {
    for (const server of SERVERS) {
      expect((await get('prometheus', server, '/metrics')).status, server).toBe(200);
      expect((await get('prometheus', server, '/')).status, server).toBe(403);
    }
  });

  it('drops a caller without a certificate before any HTTP', async () => {
    for (const server of SERVERS)
      await expect(get('no-certificate', server, '/health/live')).rejects.toThrow();
  });

  it('counts the refusals by source and destination', async () => {
    const agent = agents.get('prometheus') as Agent;
    const text = await (await request(`${urls.get('payments')}/metrics`, { dispatcher: agent })).body.text();
    expect(text).toMatch(
      /bw_authz_denied_total\{[^}]*source="intruder"[^}]*destination="payments"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/bw_authz_denied_total\{[^}]*source="none"[^}]*destination="payments"[^}]*\} [1-9]/);
    // refusals of an allowed edge's caller outside its rules count the same way
    const catalog = await (
      await request(`${urls.get('catalog')}/metrics`, { dispatcher: agent })
    ).body.text();
    expect(catalog).toMatch(
      /bw_authz_denied_total\{[^}]*source="orders"[^}]*destination="catalog"[^}]*\} [2-9]/,
    );
    expect(catalog).toMatch(
      /bw_authz_denied_total\{[^}]*source="gateway"[^}]*destination="catalog"[^}]*\} [2-9]/,
    );
  });
});
