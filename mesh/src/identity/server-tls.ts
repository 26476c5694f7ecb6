/**
 * The server half of mTLS: an HTTPS server that accepts a connection only
 * from a caller holding a certificate issued by the mesh's CA and still
 * valid, swaps its secure context when its own identity rotates (new
 * handshakes get the new certificate, open connections and their requests
 * carry on), and logs and counts every refused connection with the check
 * that failed.
 *
 * Why `rejectUnauthorized: false` and a check of our own: with `true`, Node
 * drops a caller whose certificate fails verification (expired, another CA)
 * after the handshake without any event, so nobody could say which check
 * failed. Here every connection that is not `authorized` is logged with
 * OpenSSL's verdict, counted, and destroyed before a byte of HTTP is read.
 */
import { constants } from 'node:crypto';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { counter, type Logger } from '@breakwater/observability';
import type { IdentityMaterial, WorkloadIdentity } from './workload-identity.ts';

/** The TLS options of a mesh server for one set of identity files. */
export function serverTlsOptions(m: IdentityMaterial): https.ServerOptions {
  return {
    cert: m.cert,
    key: m.key,
    ca: m.ca,
    requestCert: true,
    rejectUnauthorized: false,
    // No session tickets: a resumed session would carry a client certificate verified once, maybe long expired.
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

/** Why a caller's certificate was refused, in words, and its `source` label on bw_authz_denied_total. */
export function refusalOf(socket: TLSSocket): { check: string; source: 'none' | 'untrusted' } {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0)
    return { check: 'client certificate required: the caller presented none', source: 'none' };
  const code = String(socket.authorizationError ?? '');
  if (code === 'CERT_HAS_EXPIRED')
    return { check: `client certificate expired (${peer.valid_to})`, source: 'untrusted' };
  if (code === 'CERT_NOT_YET_VALID')
    return { check: `client certificate not yet valid (${peer.valid_from})`, source: 'untrusted' };
  return { check: `client certificate not issued by this mesh's CA (${code})`, source: 'untrusted' };
}

/** Errors of a handshake whose caller closed the connection (socket hang up, reset, broken pipe). */
const HANG_UP_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface MtlsServerOptions {
  identity: WorkloadIdentity;
  /** The service this server is (the `destination` label). */
  destination: string;
  logger: Logger;
}

export function createMtlsServer(app: RequestListener, o: MtlsServerOptions): https.Server {
  const server = https.createServer(serverTlsOptions(o.identity.current), app);
  const sub = o.identity.onChange((m) => {
    server.setSecureContext(serverTlsOptions(m));
    o.logger.info({ identity: m.id, notAfter: new Date(m.notAfter).toISOString() }, 'certificate rotated');
  });
  server.on('close', () => sub.dispose());
  const denied = counter('authzDenied');
  const refuse = (check: string, source: string, socket: TLSSocket, code?: string) => {
    denied.labels(source, o.destination).inc();
    o.logger.warn(
      { check, ...(code ? { code } : {}), remote: `${socket.remoteAddress}:${socket.remotePort}` },
      'mTLS connection refused',
    );
  };
  // First listener: runs before the HTTP layer takes the socket.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) return;
    const { check, source } = refusalOf(socket);
    refuse(check, source, socket);
    socket.destroy();
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    // A caller that left before the handshake ended (its connect timeout or try timeout ran
    // out while this process was stopped or swamped) refused nothing and was refused nothing:
    // not a denial, and after a pause hundreds of them arrive at once — a warning each would
    // only slow the catch-up.
    if (HANG_UP_CODES.has(String(err.code))) {
      o.logger.debug({ code: err.code }, 'caller left during the TLS handshake');
      return;
    }
    // An alert from the caller: it refused this server (e.g. `unknown ca` from a client without the mesh CA).
    const alert = /alert (.+?):/.exec(err.message)?.[1];
    const check = alert
      ? `the caller aborted the handshake with alert "${alert}" (it does not trust this server's certificate)`
      : `TLS handshake failed: ${err.message.trim()}`;
    refuse(check, 'untrusted', socket, err.code);
  });
  return server;
}
