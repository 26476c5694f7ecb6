/**
 * The start-up every service's main.ts does, in the order STYLE.md asks for:
 * telemetry first (the context manager and propagators must exist before any
 * work starts), then the configuration, the logger, the dependencies and the
 * app (`start`), then `listen()`, then whatever runs only once the listener
 * is up (`afterListen`: workers, consumers). Telemetry is stopped last on
 * shutdown (the kit runs closers in reverse).
 */
import { createLogger, type Logger } from '@breakwater/observability';
import { startTelemetry } from '@breakwater/observability/telemetry';
import type { ServiceApp } from './settings.ts';

/** What runService reads from a service's configuration. */
export interface RunnableConfig {
  readonly service: string;
  readonly host: string;
  readonly port: number;
}

export interface RunServiceOptions<C extends RunnableConfig, A extends ServiceApp> {
  /** The service's name for telemetry when BW_SERVICE is unset. */
  name: string;
  /** Reads and validates the environment (throws naming the variable). */
  loadConfig: () => C;
  /** Opens the dependencies and builds the app; `log` is the service's logger. */
  start: (config: C, log: Logger) => Promise<A> | A;
  /** Runs once the listener is up (start workers and consumers here). */
  afterListen?: (app: A, log: Logger) => void;
}

export async function runService<C extends RunnableConfig, A extends ServiceApp>(
  o: RunServiceOptions<C, A>,
): Promise<A> {
  const stopTelemetry = startTelemetry({ service: process.env.BW_SERVICE ?? o.name });
  const config = o.loadConfig();
  const log = createLogger({ service: config.service });
  const app = await o.start(config, log);
  app.addCloser('telemetry', stopTelemetry);
  await app.listen({ host: config.host, port: config.port });
  o.afterListen?.(app, log);
  return app;
}
