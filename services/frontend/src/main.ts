/**
 * The frontend process: telemetry, configuration, then the HTTP server.
 * `node services/frontend/src/main.ts` (PORT, FRONTEND_API_KEY, … see README).
 */
import { runService } from '@breakwater/mesh/run-service';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runService({
  name: 'frontend',
  loadConfig,
  start: (config, log) => {
    if (config.page.apiKey === '') {
      log.warn(
        'FRONTEND_API_KEY is empty: the page will call the API without a key and the gateway will refuse it',
      );
    }
    return buildApp(config, { server: { logger: log } });
  },
});
