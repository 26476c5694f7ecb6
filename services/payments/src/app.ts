/**
 * buildApp(config, deps) → the payments service app (mesh server kit + the
 * payment read API + the order.placed consumer and outbox relay, started by
 * `workers.start()` and stopped on shutdown).
 */
import openapi from '@breakwater/contracts/openapi/payments.json' with { type: 'json' };
import { closeStoresOnShutdown, eventWorkerSettings, type ServiceDeps } from '@breakwater/events';
import { createServiceAppFor, type ServiceApp } from '@breakwater/mesh/server';
import { SimulatedProcessor } from './clients/processor.ts';
import type { PaymentsConfig } from './config.ts';
import { createPaymentWorkers, type PaymentWorkers } from './events/workers.ts';
import { mountPaymentRoutes } from './routes/payments.ts';
import { PaymentsStore } from './store/payments-store.ts';

export interface PaymentsDeps extends ServiceDeps {
  processor?: SimulatedProcessor;
}

export interface PaymentsApp extends ServiceApp {
  workers: PaymentWorkers;
  processor: SimulatedProcessor;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: PaymentsConfig, deps: PaymentsDeps): PaymentsApp {
  const kit = createServiceAppFor(config, { bodyLimit: '16kb', openapi: OPENAPI, ...deps.server });
  const store = new PaymentsStore(deps.pool);
  const processor = deps.processor ?? new SimulatedProcessor(config.processor, deps.pool);
  const workers = createPaymentWorkers({
    pool: deps.pool,
    redis: deps.redis,
    store,
    processor,
    log: kit.logger,
    ...eventWorkerSettings(config),
  });
  mountPaymentRoutes(kit.router, { store });
  closeStoresOnShutdown(kit, deps, { ready: 'postgres' });
  kit.addCloser('workers', () => workers.stop());
  return Object.assign(kit, { workers, processor });
}
