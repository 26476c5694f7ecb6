/**
 * The client half of mTLS: an undici connector that presents the process's
 * current certificate, trusts only the mesh's CA, and accepts a server only
 * when its SPIFFE id is the one of the upstream it meant to call (Istio's
 * secure naming). The connector is rebuilt lazily when the identity rotates,
 * so new connections use the new certificate while connections already open
 * (and their requests in flight) carry on.
 */
import { createSecureContext } from 'node:tls';
import { buildConnector } from 'undici';
import { type SpiffeId, spiffeIdOf } from './spiffe.ts';
import type { IdentityMaterial, WorkloadIdentity } from './workload-identity.ts';

export interface ClientTls {
  readonly identity: WorkloadIdentity;
  /** The SPIFFE id the server must present. */
  readonly expect: SpiffeId;
}

/** The secure-naming check: undefined when `cert` carries `expect`, else an error naming the check. */
export function checkPeerIdentity(
  expect: SpiffeId,
  cert: { subjectaltname?: string | undefined } | undefined,
): Error | undefined {
  const got = spiffeIdOf(cert);
  if (got === expect) return undefined;
  const err = new Error(
    `server identity check failed: expected ${expect}, the server presented ${got ?? 'no SPIFFE id'}`,
  );
  (err as Error & { code: string }).code = 'ERR_MESH_SERVER_IDENTITY';
  return err;
}

/** A connector for undici's Pool `connect` option. */
export function meshConnector(tls: ClientTls, timeoutMs: number): buildConnector.connector {
  let builtFor: IdentityMaterial | undefined;
  let connector: buildConnector.connector | undefined;
  return (opts, callback) => {
    const m = tls.identity.current;
    if (m !== builtFor || connector === undefined) {
      builtFor = m;
      connector = buildConnector({
        // One secure context per identity, shared by every connection: given cert, key and
        // ca instead, tls.connect parses all three again for each connection (~0.4 ms).
        // The checks below still run on every handshake.
        secureContext: createSecureContext({ cert: m.cert, key: m.key, ca: m.ca }),
        rejectUnauthorized: true,
        timeout: timeoutMs,
        // No TLS session resumption: a resumed session skips the certificate checks, so a
        // server whose certificate expired (or changed identity) would still be accepted.
        maxCachedSessions: 0,
        // The SPIFFE id replaces the host name check: mesh certificates name no host.
        checkServerIdentity: (_host, cert) => checkPeerIdentity(tls.expect, cert),
      });
    }
    return connector(opts, callback);
  };
}
