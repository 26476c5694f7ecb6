/**
 * The fault controller as an `up` plugin: routes on the supervisor's control
 * API (same loopback listener, same bearer token) and a read-only /metrics
 * listener for Prometheus.
 *
 *   GET    /v1/faults              → { active: [...], history: [...], metricsUrl }
 *   POST   /v1/faults              → 201 the fault record; body { drill?, name?, maxDurationMs?, spec }
 *   DELETE /v1/faults/:id          → the fault record, undone
 *   DELETE /v1/faults[?drill=x]    → { undone: [...] } every active fault (of that drill)
 *
 * The metrics listener (127.0.0.1, a free port, no token: it only reads)
 * serves `bw_drill_fault_active`; its address is written as a Prometheus
 * file_sd target to `<run dir>/prometheus/targets/faults.json`.
 * When the run stops, every active fault is undone first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { LocalError } from '../errors.ts';
import { LOOPBACK } from '../ports.ts';
import type { UpContext, UpPlugin } from '../up.ts';
import { FaultController, FaultError, type FaultRequest } from './fault-controller.ts';

function asLocal(err: unknown): unknown {
  if (!(err instanceof FaultError)) return err;
  const code =
    err.status === 400
      ? 'LOCAL_ERR_BAD_INPUT'
      : err.status === 404
        ? 'LOCAL_ERR_NOT_FOUND'
        : 'LOCAL_ERR_BAD_STATE';
  return new LocalError(code, err.message, { cause: err });
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asLocal(err);
  }
}

/** Serves `controller.metrics()` on a loopback port; resolves with the server. */
export function startMetricsServer(controller: FaultController, port = 0): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      const text = controller.metrics();
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port }, () => resolve(server));
  });
}

/** Adds the fault routes to a control API; returns the controller. */
export async function installFaultController(ctx: UpContext): Promise<FaultController> {
  const { api, supervisor, scaler, state, print } = ctx;
  const controller = new FaultController({
    processes: supervisor,
    ...(scaler ? { rollout: (service, options) => scaler.rollout(service, options) } : {}),
    adminToken: state.adminToken,
    log: (line) => print(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  const metrics = await startMetricsServer(controller);
  metrics.unref();
  const address = metrics.address();
  const metricsPort = typeof address === 'object' && address ? address.port : 0;
  const metricsUrl = `http://${LOOPBACK}:${metricsPort}/metrics`;
  const targets = path.join(state.runDir, 'prometheus', 'targets');
  mkdirSync(targets, { recursive: true });
  writeFileSync(
    path.join(targets, 'faults.json'),
    `${JSON.stringify([{ targets: [`${LOOPBACK}:${metricsPort}`], labels: { job: 'fault-controller' } }])}\n`,
  );

  api.route('GET', '/v1/faults', () => ({
    active: controller.active(),
    history: controller.history(),
    metricsUrl,
  }));
  api.route('POST', '/v1/faults', ({ body }) => mapped(() => controller.inject(body as FaultRequest)), 201);
  api.route('DELETE', '/v1/faults/:id', ({ params }) => mapped(() => controller.undo(params.id ?? '')));
  api.route('DELETE', '/v1/faults', async ({ url }) => ({
    undone: await mapped(() => controller.undoAll(url.searchParams.get('drill') ?? undefined)),
  }));

  // Undo before the processes stop, so nothing comes back paused or faulted next time.
  const onStop = () => void controller.undoAll(undefined, 'shutdown').catch(() => {});
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  return controller;
}

/** `up({ plugins: [faultControllerPlugin] })`. */
export const faultControllerPlugin: UpPlugin = async (ctx) => {
  await installFaultController(ctx);
};
