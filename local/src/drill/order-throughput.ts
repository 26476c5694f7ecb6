/**
 * Order throughput of a running platform, for comparing PostgreSQL and Redis
 * settings (README "Durability"): `--concurrency` clients place orders
 * through the gateway as fast as they are answered for `--seconds`, then the
 * tool waits until every accepted order is final (payments charged, orders
 * confirmed: the whole saga, every commit of it) and prints one JSON line:
 * accepted orders/s, latency p50/p99 of POST /api/orders, and completed
 * orders/s end to end.
 *
 *   npm run throughput -- [--run-dir .run] [--seconds 20] [--concurrency 8]
 *
 * Rate limits would measure the limiter, not the databases: the run's
 * limits for alice and the orders route are lifted through the fault
 * controller (preparations, undone at the end and by lease).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { controlCall } from '../control-client.ts';
import type { ProcessStatus } from '../managed-process.ts';
import { runCli } from '../run-cli.ts';
import { readState } from '../state.ts';
import { checkInvariants } from './invariants.ts';
import { ALICE_KEY } from './run-drill.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
/** Products the catalog seed holds: sku-0001 … sku-0040 (services/catalog/migrations/002). */
const SEED_PRODUCT_COUNT = 40;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'run-dir': { type: 'string' },
      seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  if (!(seconds > 0 && seconds <= 300)) throw new Error('--seconds: a number in 1..300');
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64))
    throw new Error('--concurrency: an integer in 1..64');
  const runDir = path.resolve(values['run-dir'] ?? process.env.BW_RUN_DIR ?? path.join(ROOT, '.run'));
  const state = readState(runDir);
  if (state === undefined || state === 'unreadable') throw new Error(`no platform is up in ${runDir}`);
  const processes = ((await controlCall(state, 'GET', '/v1/status')) as { processes: ProcessStatus[] })
    .processes;
  const gateway = processes.find((p) => p.name === 'gateway-1')?.url;
  if (!gateway) throw new Error('gateway-1 is not part of the run');

  const drill = `throughput-${Date.now()}`;
  const lift = (policy: string, limits: Record<string, number>) =>
    controlCall(state, 'POST', '/v1/faults', {
      drill,
      name: 'headroom',
      preparation: true,
      maxDurationMs: (seconds + 120) * 1_000,
      spec: { kind: 'limit', policy, limits },
    });
  await lift('alice', { minute: 1_000_000 });
  await lift('orders-default', { second: 100_000, minute: 1_000_000 });

  // The runner's invariant check finds a run's orders by the `drill-<test id>-` customer prefix.
  const testId = drill;
  const latencies: number[] = [];
  let accepted = 0;
  let refused = 0;
  const until = Date.now() + seconds * 1_000;
  const started = Date.now();
  const client = async (n: number) => {
    while (Date.now() < until) {
      const product = `sku-${String(1 + Math.floor(Math.random() * SEED_PRODUCT_COUNT)).padStart(4, '0')}`;
      const t0 = performance.now();
      const res = await fetch(`${gateway}/api/orders`, {
        method: 'POST',
        headers: { apikey: ALICE_KEY, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({
          customerId: `drill-${testId}-c${n}`,
          items: [{ productId: product, quantity: 1 }],
        }),
      }).catch(() => undefined);
      await res?.arrayBuffer().catch(() => {});
      latencies.push(performance.now() - t0);
      if (res?.status === 202) accepted++;
      else refused++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  const placedMs = Date.now() - started;
  const report = await checkInvariants({ runDir, processes, testId, accepted, settleMs: 120_000 });
  const completedMs = placedMs + (report.settleMs ?? Number.NaN);
  await controlCall(state, 'DELETE', `/v1/faults?drill=${drill}`);
  latencies.sort((a, b) => a - b);
  const result = {
    seconds,
    concurrency,
    accepted,
    refused,
    acceptedPerSecond: Math.round((accepted / placedMs) * 1_000 * 10) / 10,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    completedPerSecond: Math.round((report.orders / completedMs) * 1_000 * 10) / 10,
    invariants: report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

if (import.meta.main) runCli(() => main(process.argv.slice(2)), { failureCode: 2 });
