/**
 * A real gateway process (`node gateway/src/main.ts`, the supervisor's
 * ManagedProcess: its start, readiness deadline and stop) in front of a
 * Shop, for tests that go through the public contract: the OpenAPI fuzzing
 * through the gateway and the gateway's pact verification. gateway.yaml is
 * used as checked in, or as a variant `edit` writes (writeGatewayVariant).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGatewayVariant } from '@breakwater/local/gateway-variant';
import { ManagedProcess } from '@breakwater/local/managed-process';
import { freePorts } from '@breakwater/local/ports';
import { httpProbe } from '@breakwater/local/readiness';
import type { Document } from 'yaml';
import type { Shop } from './shop.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The dev consumer alice's API key (gateway.yaml). */
export const ALICE = { apikey: 'dev-alice-key-0000-NOT-A-SECRET' };

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  shop: Shop;
  redisUrl: string;
  /** The frontend behind `GET /` (default: none, an address that refuses). */
  frontendUrl?: string;
  /** Edits gateway.yaml before the start (e.g. raises rate limits). */
  edit?: (doc: Document) => void;
  /** Names the variant file and the temporary folder. */
  name: string;
}

/** Starts the gateway; ready once a catalog read passes through it (auth, limit and forward all work). */
export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const [port, adminPort] = await freePorts(2);
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), `bw-${o.name}-gw-`));
  const gateway = new ManagedProcess({
    name: 'gateway',
    kind: 'gateway',
    command: process.execPath,
    args: ['gateway/src/main.ts'],
    cwd: ROOT,
    port,
    logFile: join(dir, 'gateway.log'),
    ready: httpProbe(`${url}/api/catalog/products?limit=1`, ALICE),
    readyTimeoutMs: 20_000,
    inheritEnv: false,
    env: {
      PATH: process.env.PATH ?? '',
      GATEWAY_CONFIG: writeGatewayVariant(dir, o.name, o.edit ?? (() => {})),
      HOST: '127.0.0.1',
      PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_ADMIN_TOKEN: `${o.name}-admin-token-0123456789`,
      REDIS_URL: o.redisUrl,
      CATALOG_URL: o.shop.catalog.url,
      ORDERS_URL: o.shop.orders.url,
      PAYMENTS_URL: o.shop.payments?.url ?? '',
      FRONTEND_URL: o.frontendUrl ?? 'http://127.0.0.1:1',
      LOG_LEVEL: 'warn',
    },
  });
  await gateway.start();
  return { url, stop: () => gateway.stop() };
}
