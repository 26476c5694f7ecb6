/**
 * The connection pool of one endpoint, with its keep-alive and connect
 * settings from the policy; over `https://` with the mesh's mTLS connector
 * (../identity/client-tls.ts): the process's certificate, the mesh CA, and
 * the server's SPIFFE id checked against the upstream meant.
 */
import { Pool } from 'undici';
import { type ClientTls, meshConnector } from '../identity/client-tls.ts';
import type { UpstreamPolicy } from '../policy.ts';

export function createPool(origin: string, p: UpstreamPolicy, tls: ClientTls | undefined): Pool {
  const secure = tls !== undefined && origin.startsWith('https:');
  return new Pool(origin, {
    connections: p.pool.connections,
    keepAliveTimeout: p.pool.keepAliveTimeoutMs,
    connect: secure ? meshConnector(tls, p.pool.connectTimeoutMs) : { timeout: p.pool.connectTimeoutMs },
  });
}
