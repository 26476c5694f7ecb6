/**
 * The frontend's configuration, read once from the environment and validated
 * (the message names the variable), then frozen.
 */
import { z } from 'zod';

const ms = (min: number) => z.coerce.number().int().min(min);

export const FrontendEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8090),
  BW_SERVICE: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case service name')
    .default('frontend'),
  BW_ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BW_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * The public consumer's API key the page sends as `apikey` (gateway.yaml:
   * consumer `shop-frontend`). Anyone who loads the page can read it, so it
   * must be a key meant to be public, limited by IP at the gateway.
   */
  FRONTEND_API_KEY: z.string().default(''),
  /** Origin of the public API; empty (the default) for the page's own origin. */
  FRONTEND_API_BASE: z
    .string()
    .regex(/^(https?:\/\/[^/\s]+)?$/, 'must be empty or an origin such as https://api.example.com')
    .default(''),
  /** First delay between order-status polls, ms. */
  FRONTEND_POLL_INITIAL_MS: ms(50).default(500),
  /** Longest delay between order-status polls, ms. */
  FRONTEND_POLL_MAX_MS: ms(100).default(5_000),
  /** Stop polling an order that is still not final after this, ms (default 2 min). */
  FRONTEND_POLL_TIMEOUT_MS: ms(1_000).default(120_000),
});

export interface FrontendConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  /** What the page reads from /config.json. */
  readonly page: {
    readonly apiBase: string;
    readonly apiKey: string;
    readonly poll: { readonly initialMs: number; readonly maxMs: number; readonly timeoutMs: number };
  };
}

/** Throws an Error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FrontendConfig {
  const r = FrontendEnv.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${msg}`);
  }
  const e = r.data;
  if (e.FRONTEND_POLL_MAX_MS < e.FRONTEND_POLL_INITIAL_MS) {
    throw new Error('invalid environment: FRONTEND_POLL_MAX_MS: must be at least FRONTEND_POLL_INITIAL_MS');
  }
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    service: e.BW_SERVICE,
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    page: Object.freeze({
      apiBase: e.FRONTEND_API_BASE,
      apiKey: e.FRONTEND_API_KEY,
      poll: Object.freeze({
        initialMs: e.FRONTEND_POLL_INITIAL_MS,
        maxMs: e.FRONTEND_POLL_MAX_MS,
        timeoutMs: e.FRONTEND_POLL_TIMEOUT_MS,
      }),
    }),
  });
}
