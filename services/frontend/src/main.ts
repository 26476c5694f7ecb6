/**
 * The frontend process: telemetry, configuration, then the HTTP server.
 * `node services/frontend/src/main.ts` (PORT, FRONTEND_API_KEY, … see README).
 */
import { createLogger } from '@breakwater/observability';
import { startTelemetry } from '@breakwater/observability/telemetry';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

// Telemetry first: the context manager and propagators must exist before any work starts.
const stopTelemetry = startTelemetry({ service: process.env.BW_SERVICE ?? 'frontend' });

const config = loadConfig();
const log = createLogger({ service: config.service });
if (config.page.apiKey === '') {
  log.warn(
    'FRONTEND_API_KEY is empty: the page will call the API without a key and the gateway will refuse it',
  );
}
const kit = buildApp(config, { server: { logger: log } });
kit.addCloser('telemetry', stopTelemetry);
await kit.listen({ host: config.host, port: config.port });
