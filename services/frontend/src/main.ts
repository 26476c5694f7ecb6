/**
 * The frontend process: configuration, then the HTTP server.
 * `node services/frontend/src/main.ts` (PORT, FRONTEND_API_KEY, … see README).
 */
import { createLogger } from '@breakwater/observability';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const log = createLogger({ service: config.service });
if (config.page.apiKey === '') {
  log.warn(
    'FRONTEND_API_KEY is empty: the page will call the API without a key and the gateway will refuse it',
  );
}
const kit = buildApp(config, { server: { logger: log } });
await kit.listen({ host: config.host, port: config.port });
