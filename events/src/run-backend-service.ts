/**
 * main.ts of a backend service (services/*) in one call: runService's order
 * (telemetry, config, logger) with the service's stores opened by
 * openServiceStores (pool, migrations, Redis) and handed to its `buildApp`.
 * Its own entry (`@breakwater/events/run-backend-service`) so that the event
 * library does not load the telemetry SDK.
 */

import { type RunnableConfig, runService } from '@breakwater/mesh/run-service';
import type { ServerOverrides, ServiceApp } from '@breakwater/mesh/server';
import { type OpenServiceStoresOptions, openServiceStores, type ServiceStores } from './service-stores.ts';

type StoresConfig = OpenServiceStoresOptions['config'];

export interface RunBackendServiceOptions<C extends RunnableConfig & StoresConfig, A extends ServiceApp> {
  /** The service's name for telemetry when BW_SERVICE is unset. */
  name: string;
  loadConfig: () => C;
  migrationsDir: URL;
  /** Pool and Redis settings beyond the defaults, from the config. */
  stores?: (config: C) => Pick<OpenServiceStoresOptions, 'pg' | 'redis'>;
  buildApp: (config: C, deps: ServiceStores & { server: ServerOverrides }) => A;
  /** Runs once the listener is up (start workers and consumers here). */
  afterListen?: (app: A) => void;
}

export function runBackendService<C extends RunnableConfig & StoresConfig, A extends ServiceApp>(
  o: RunBackendServiceOptions<C, A>,
): Promise<A> {
  return runService({
    name: o.name,
    loadConfig: o.loadConfig,
    start: async (config, log) => {
      const stores = await openServiceStores({
        config,
        migrationsDir: o.migrationsDir,
        log,
        ...o.stores?.(config),
      });
      return o.buildApp(config, { ...stores, server: { logger: log } });
    },
    ...(o.afterListen ? { afterListen: o.afterListen } : {}),
  });
}
