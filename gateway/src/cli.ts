/**
 * The gateway's command line, run through npm (scripts/bw puts Node 24 first,
 * whatever the system Node is):
 *
 *   npm run gateway -- token <consumer> [--alg HS256|RS256|ES256] [--ttl <seconds>]
 *   npm run gateway -- limits get
 *   npm run gateway -- limits set <policy> minute=200 [second=10] [hour=5000]
 *   npm run gateway -- limits set --route catalog [--consumer alice] minute=200
 *   npm run gateway -- limits reset <policy>
 *   npm run gateway -- reload
 *
 * `$(npm run --silent gateway -- token bob)` is the token alone.
 *
 * `limits` and `reload` talk to one gateway's admin API: --admin <url> or
 * GATEWAY_ADMIN_URL (default http://127.0.0.1:$GATEWAY_ADMIN_PORT, port 9080),
 * token from GATEWAY_ADMIN_TOKEN. A limit change made through any one
 * process applies to every process (it lives in Redis); `reload` reloads the
 * process it is sent to. `token` reads gateway.yaml (GATEWAY_CONFIG or --config).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { mintDevToken } from './dev-tokens.ts';

const USAGE = `usage:
  npm run gateway -- token <consumer> [--alg HS256|RS256|ES256] [--ttl <seconds>] [--config gateway.yaml]
  npm run gateway -- limits get
  npm run gateway -- limits set <policy> <window>=<n>...
  npm run gateway -- limits set --route <r> [--consumer <c>] <window>=<n>...
  npm run gateway -- limits reset <policy>
  npm run gateway -- reload
options for limits/reload: --admin <url> (or GATEWAY_ADMIN_URL), token from GATEWAY_ADMIN_TOKEN`;

function die(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    alg: { type: 'string' },
    ttl: { type: 'string' },
    config: { type: 'string' },
    admin: { type: 'string' },
    route: { type: 'string' },
    consumer: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

async function admin(method: string, path: string, body?: unknown): Promise<void> {
  const base =
    values.admin ??
    process.env.GATEWAY_ADMIN_URL ??
    `http://127.0.0.1:${process.env.GATEWAY_ADMIN_PORT ?? '9080'}`;
  const token = process.env.GATEWAY_ADMIN_TOKEN;
  if (!token) die('GATEWAY_ADMIN_TOKEN is not set');
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    die(`cannot reach the admin API at ${base}: ${(err as Error).message}`);
  }
  const text = await res.text();
  process.stdout.write(`${text}\n`);
  if (!res.ok) process.exit(1);
}

function parseLimits(args: string[]): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const a of args) {
    const m = /^(second|minute|hour)=(\d+)$/.exec(a);
    if (!m) die(`expected <second|minute|hour>=<positive integer>, got "${a}"`);
    limits[m[1] as string] = Number(m[2]);
  }
  if (Object.keys(limits).length === 0) die('give at least one <window>=<n>');
  return limits;
}

const [cmd, sub, ...rest] = positionals;
if (values.help || cmd === undefined) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(cmd === undefined && !values.help ? 2 : 0);
}

switch (cmd) {
  case 'token': {
    if (!sub) die(USAGE);
    const alg = values.alg?.toUpperCase();
    if (alg !== undefined && alg !== 'HS256' && alg !== 'RS256' && alg !== 'ES256')
      die('--alg must be HS256, RS256 or ES256');
    const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0))
      die('--ttl must be a positive number of seconds');
    const { config, baseDir } = loadConfig(
      values.config ?? process.env.GATEWAY_CONFIG ?? 'gateway/gateway.yaml',
    );
    try {
      const token = await mintDevToken(config, baseDir, sub, {
        ...(alg === undefined ? {} : { algorithm: alg }),
        ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
      });
      process.stdout.write(`${token}\n`);
    } catch (err) {
      die((err as Error).message);
    }
    break;
  }
  case 'limits': {
    if (sub === 'get') await admin('GET', '/admin/limits');
    else if (sub === 'set') {
      const scoped = values.route !== undefined || values.consumer !== undefined;
      const [policy, ...windows] = scoped ? [undefined, ...rest] : rest;
      if (!scoped && !policy) die(USAGE);
      await admin('PUT', '/admin/limits', {
        ...(policy === undefined ? {} : { policy }),
        ...(values.route === undefined ? {} : { route: values.route }),
        ...(values.consumer === undefined ? {} : { consumer: values.consumer }),
        limits: parseLimits(windows as string[]),
      });
    } else if (sub === 'reset') {
      if (!rest[0]) die(USAGE);
      await admin('DELETE', `/admin/limits/${encodeURIComponent(rest[0])}`);
    } else die(USAGE);
    break;
  }
  case 'reload':
    await admin('POST', '/admin/reload');
    break;
  default:
    die(USAGE);
}
