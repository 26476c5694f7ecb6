/**
 * Readiness probes: one real check per kind of process. A probe answers
 * true (ready), false (not yet) and never throws; the process manager polls it
 * until a deadline.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';

export interface ReadinessProbe {
  /** What is checked, for error messages: "GET http://127.0.0.1:4100/health/ready → 200". */
  readonly describe: string;
  check(signal: AbortSignal): Promise<boolean>;
}

const PROBE_TIMEOUT_MS = 1_000; // one attempt; the caller's deadline bounds the whole wait

/** Ready when `GET url` answers 200. */
export function httpProbe(url: string, headers: Record<string, string> = {}): ReadinessProbe {
  return {
    describe: `GET ${url} answers 200`,
    check: (signal) =>
      new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: PROBE_TIMEOUT_MS, signal, headers }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      }),
  };
}

export interface HttpsProbeOptions {
  /** The CA to verify the server with, read at each check (servers that make their own certificate write it at start). */
  caFile?: string;
  /** Skip verification: only for loopback health endpoints whose certificate is made on the spot. */
  insecure?: boolean;
  /** A client certificate and key (mTLS servers), read at each check: the CA rotates them. */
  certFile?: string;
  keyFile?: string;
  /** Accept the server's certificate whatever name it carries (mesh certificates name no host, only a SPIFFE id). */
  anyName?: boolean;
  headers?: Record<string, string>;
}

/** Ready when `GET url` over TLS answers 200. */
export function httpsProbe(url: string, options: HttpsProbeOptions = {}): ReadinessProbe {
  // The secure context is built again only when a file changed: building it (parsing the CA,
  // the certificate and the key) on each of the ~10 checks a second while a service starts
  // cost the supervisor more CPU than the checks themselves.
  let built: { files: Buffer; context: tls.SecureContext } | undefined;
  const contextOf = (files: Buffer[], o: tls.SecureContextOptions): tls.SecureContext => {
    const joined = Buffer.concat(files);
    if (!built?.files.equals(joined)) built = { files: joined, context: tls.createSecureContext(o) };
    return built.context;
  };
  return {
    describe: `GET ${url} answers 200`,
    check: (signal) =>
      new Promise((resolve) => {
        let secureContext: tls.SecureContext;
        try {
          const ca = options.caFile !== undefined ? readFileSync(options.caFile) : undefined;
          const client =
            options.certFile !== undefined && options.keyFile !== undefined
              ? { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) }
              : undefined;
          secureContext = contextOf(
            [ca, client?.cert, client?.key].filter((b) => b !== undefined),
            {
              ...(ca ? { ca } : {}),
              ...(client ?? {}),
            },
          );
        } catch {
          resolve(false); // not written yet (or half-written: the next check reads it again)
          return;
        }
        // tls.connect takes `secureContext`; https' RequestOptions type does not list it.
        const request: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
          agent: false,
          timeout: PROBE_TIMEOUT_MS,
          signal,
          headers: options.headers ?? {},
          secureContext,
          ...(options.anyName ? { checkServerIdentity: () => undefined } : {}),
          rejectUnauthorized: options.insecure !== true,
        };
        const req = https.get(url, request, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      }),
  };
}

/** Ready when Redis answers PING with +PONG (not -LOADING while it replays its append-only file). */
export function redisProbe(port: number, host = '127.0.0.1'): ReadinessProbe {
  return {
    describe: `redis PING on ${host}:${port} answers PONG`,
    check: (signal) =>
      new Promise((resolve) => {
        let answer = '';
        const socket = net.connect({ host, port });
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
        signal.addEventListener('abort', () => done(false), { once: true });
        socket.on('error', () => done(false));
        socket.on('connect', () => socket.write('PING\r\n'));
        socket.on('data', (chunk) => {
          answer += chunk.toString('latin1');
          if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
        });
      }),
  };
}

/** Ready when a real connection can log in and run `SELECT 1`. */
export function postgresProbe(connectionString: string, port: number): ReadinessProbe {
  return {
    describe: `PostgreSQL on 127.0.0.1:${port} accepts a connection and SELECT 1`,
    check: async () => {
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/** Ready when the process is alive (for processes with no endpoint). */
export const aliveProbe: ReadinessProbe = { describe: 'process stays alive', check: async () => true };

/** Ready when every probe is (in order; stops at the first that is not). */
export function allProbes(...probes: ReadinessProbe[]): ReadinessProbe {
  return {
    describe: probes.map((p) => p.describe).join(' and '),
    check: async (signal) => {
      for (const p of probes) if (!(await p.check(signal))) return false;
      return true;
    },
  };
}
