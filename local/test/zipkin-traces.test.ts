/**
 * The trace backend on a real platform (Redis, PostgreSQL per service, every
 * service, one gateway, Zipkin; no Prometheus): one order placed through the
 * gateway the way a user does (no traceparent of our own), its trace id found
 * the way the README says — the order service's access-log line with the
 * request id the gateway answered with — and Zipkin's API returns that trace
 * with spans of gateway, orders, catalog, payments and notifications (the
 * last two reached only through Redis Streams), its UI page answers, and it
 * listens on loopback only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlatform, instancesOf, withReplicas } from '../src/platform.ts';
import { Supervisor } from '../src/supervisor.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ALICE = { apikey: 'dev-alice-key-0000-NOT-A-SECRET' }; // gateway.yaml's development consumer
const ORDER = { customerId: 'c-zipkin', items: [{ productId: 'sku-0002', quantity: 1 }] };
const SERVICES = ['gateway', 'orders', 'catalog', 'payments', 'notifications'];

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  localEndpoint?: { serviceName?: string };
}

let runDir: string;
let supervisor: Supervisor | undefined;
let gatewayUrl: string;
let zipkinUrl: string;

beforeAll(async () => {
  runDir = mkdtempSync(path.join(tmpdir(), 'bw-zipkin-traces-'));
  const entries = instancesOf(withReplicas({ gateway: 1 })).filter(
    (e) => e.kind !== 'prometheus' && e.kind !== 'grafana',
  );
  const platform = await buildPlatform({
    root: ROOT,
    runDir,
    gatewayPort: 0,
    adminToken: 'zipkin-traces-admin-token',
    entries,
  });
  // npm test's bootstrap installs Java and the jar: Zipkin is not optional here.
  expect(platform.skipped).toEqual([]);
  supervisor = new Supervisor(platform.specs);
  await supervisor.startAll();
  gatewayUrl = supervisor.get('gateway').status().url ?? '';
  zipkinUrl = supervisor.get('zipkin').status().url ?? '';
}, 300_000);

afterAll(async () => {
  await supervisor?.stopAll();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}, 60_000);

/** The trace id of the access-log line with this request id in a service's log, or undefined (not written yet). */
function traceIdFromAccessLog(service: string, requestId: string): string | undefined {
  const lines = readFileSync(path.join(runDir, 'logs', `${service}.log`), 'utf8').split('\n');
  for (const line of lines) {
    if (!line.includes(requestId)) continue;
    try {
      const entry = JSON.parse(line) as { request_id?: string; trace_id?: string; msg?: string };
      if (entry.request_id === requestId && entry.msg === 'request' && entry.trace_id) return entry.trace_id;
    } catch {
      // not a JSON line (the supervisor's own banner)
    }
  }
  return undefined;
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  get: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await get();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('Zipkin on the running platform', () => {
  it('holds the whole trace of one order, found by the trace id of its access-log line', async () => {
    const placed = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { ...ALICE, 'content-type': 'application/json', 'idempotency-key': `zipkin-${Date.now()}` },
      body: JSON.stringify(ORDER),
      signal: AbortSignal.timeout(15_000),
    });
    expect(placed.status, await placed.text()).toBe(202);
    const requestId = placed.headers.get('x-request-id') ?? '';
    expect(requestId).not.toBe('');

    const traceId = await poll('the access-log line of the order', 10_000, () =>
      traceIdFromAccessLog('orders', requestId),
    );
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    let spans: ZipkinSpan[] = [];
    const services = () => new Set(spans.map((s) => s.localEndpoint?.serviceName));
    await poll(`spans of trace ${traceId} from ${SERVICES.join(', ')}`, 30_000, async () => {
      const res = await fetch(`${zipkinUrl}/api/v2/trace/${traceId}`);
      spans = res.status === 200 ? ((await res.json()) as ZipkinSpan[]) : [];
      return SERVICES.every((s) => services().has(s)) ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; seen: ${JSON.stringify([...services()])}`);
    });
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    // One root, the gateway's server span; every other span has its parent in the trace.
    const ids = new Set(spans.map((s) => s.id));
    const roots = spans.filter((s) => !s.parentId);
    expect(roots.map((s) => s.localEndpoint?.serviceName)).toEqual(['gateway']);
    expect(spans.filter((s) => s.parentId && !ids.has(s.parentId))).toEqual([]);

    const page = await fetch(`${zipkinUrl}/zipkin/traces/${traceId}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  }, 90_000);

  it('listens on loopback only', () => {
    const port = supervisor?.get('zipkin').status().port as number;
    const portHex = port.toString(16).toUpperCase().padStart(4, '0');
    // /proc/net/tcp{,6}: "sl local_address:port rem_address:port st …"; st 0A is LISTEN.
    const listening = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c[1]?.endsWith(`:${portHex}`) && c[3] === '0A')
        .map((c) => c[1]?.split(':')[0]),
    );
    // 127.0.0.1 (little-endian words), as IPv4 or v4-mapped IPv6 (Java's dual-stack socket).
    expect(listening.length).toBeGreaterThan(0);
    expect(listening.every((a) => a === '0100007F' || a === '0000000000000000FFFF00000100007F')).toBe(true);
  });
});
