/**
 * `node gateway/src/main.ts`: telemetry first, then the environment
 * (validated, the variable named on error), then the gateway. SIGHUP reloads
 * gateway.yaml; SIGTERM/SIGINT drain and exit.
 */

import { collectProcessMetrics, createLogger, setServiceLabel } from '@breakwater/observability';
import { startTelemetry } from '@breakwater/observability/telemetry';
import { z } from 'zod';
import { startGateway } from './app.ts';
import { loadConfig, resolveUpstreamEndpointsFiles, resolveUpstreamUrls } from './config.ts';

const stopTelemetry = startTelemetry({ service: 'gateway' });
setServiceLabel('gateway');
collectProcessMetrics();
const log = createLogger({ service: 'gateway' });

const port = z.coerce.number().int().min(0).max(65535);
const envSchema = z.object({
  GATEWAY_CONFIG: z.string().default('gateway/gateway.yaml'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(8080),
  GATEWAY_ADMIN_PORT: port.default(9080),
  GATEWAY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  BW_SERVICE: z.string().optional(),
});

function fail(message: string): never {
  log.fatal(message);
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(1);
}

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
const env = parsed.data;

let gw: Awaited<ReturnType<typeof startGateway>>;
try {
  const loaded = loadConfig(env.GATEWAY_CONFIG);
  gw = await startGateway({
    loaded,
    upstreamUrls: resolveUpstreamUrls(loaded.config, process.env),
    upstreamEndpointsFiles: resolveUpstreamEndpointsFiles(loaded.config, process.env),
    redisUrl: env.REDIS_URL,
    host: env.HOST,
    port: env.PORT,
    adminPort: env.GATEWAY_ADMIN_PORT,
    adminToken: env.GATEWAY_ADMIN_TOKEN,
    log,
    instance: env.BW_SERVICE,
  });
} catch (err) {
  fail((err as Error).message);
}

process.on('SIGHUP', () => void gw.reload());
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'draining');
  await gw.close();
  await stopTelemetry().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
