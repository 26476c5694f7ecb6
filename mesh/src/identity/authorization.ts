/**
 * Authorization from mesh/policy.yaml, the same data that renders the
 * cluster's AuthorizationPolicies: a server allows a caller's SPIFFE id
 * (from its verified certificate) only where the policy has an edge from
 * that caller to this service.
 *
 * - `calls`: a workload that calls this service by name may use every
 *   route; one whose edge carries rules (`{ catalog: [operations] }`) only
 *   the methods and paths they allow (../policy/operations.ts, Istio's
 *   matching: exact, prefix `/x/*`, suffix `*x`), compiled once here.
 * - `external` callers with a ServiceAccount: their callees (or those of the
 *   workload they stand in for, with its rules) likewise; a scraper
 *   (`scrape`) only `GET <scrape.path>` on every service and worker —
 *   Prometheus.
 * - `/health/live` and `/health/ready`: any caller with a valid mesh
 *   certificate, as on Istio, where the kubelet's probes are rewritten by
 *   the sidecar and never meet the AuthorizationPolicy. Locally the
 *   supervisor probes with its own certificate.
 *
 * Anything else: 403 problem+json `MESH_ERR_FORBIDDEN` whose detail names
 * the failed check ("orders may not POST /products on catalog"), logged with
 * the caller's identity and counted in
 * bw_authz_denied_total{source,destination}. Plain-HTTP sockets (mTLS off)
 * are not checked. The fault and limit admin routes are not on this port at
 * all: they listen on loopback behind a bearer token (../server/admin.ts).
 */
import type { TLSSocket } from 'node:tls';
import { counter, type Logger } from '@breakwater/observability';
import type { NextFunction, Request, Response } from 'express';
import { MeshError } from '../errors.ts';
import { edgeOperations, externalCallees, scrapeOperations, scrapeTargets } from '../policy/edges.ts';
import {
  compileOperations,
  describeOperations,
  type Operation,
  type OperationMatcher,
} from '../policy/operations.ts';
import type { MeshPolicy } from '../policy/schema.ts';
import { identityLabel, type SpiffeId, spiffeId, spiffeIdOf } from './spiffe.ts';

export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready']);

/** What one caller may send: everything (no operations), or what one of its operations matches. */
interface Grant {
  readonly operations: Operation[] | undefined;
  readonly allows: OperationMatcher | undefined;
}

export interface AuthorizationRules {
  readonly destination: string;
  /** Undefined when allowed, else the check that failed, in words. */
  check(caller: SpiffeId | undefined, method: string, path: string): string | undefined;
}

/** The rules of `destination` from the policy, compiled once (no pattern work per request). */
export function authorizationFor(policy: MeshPolicy, destination: string): AuthorizationRules {
  const ops = new Map<SpiffeId, Operation[] | 'all'>();
  const grant = (id: SpiffeId, o: readonly Operation[] | undefined) => {
    const had = ops.get(id);
    // Several grants of one caller add up; one without rules allows everything.
    ops.set(id, had === 'all' || o === undefined ? 'all' : [...(had ?? []), ...o]);
  };
  const own = (sa: string) => spiffeId(sa, policy.namespace, policy.trustDomain);
  for (const [caller, callees] of Object.entries(policy.calls))
    if (callees.includes(destination)) grant(own(caller), edgeOperations(policy, caller, destination));
  for (const [name, e] of Object.entries(policy.external)) {
    if (e.serviceAccount === undefined) continue; // not in the mesh: no identity to allow
    const id = spiffeId(e.serviceAccount, e.namespace, policy.trustDomain);
    if (externalCallees(policy, name).includes(destination))
      grant(id, edgeOperations(policy, name, destination, true));
    if (e.scrape && scrapeTargets(policy).includes(destination)) grant(id, scrapeOperations(e));
  }
  const grants = new Map<SpiffeId, Grant>(
    [...ops].map(([id, o]) =>
      o === 'all'
        ? [id, { operations: undefined, allows: undefined }]
        : [id, { operations: o, allows: compileOperations(o) }],
    ),
  );
  const known = new Set<string>([
    ...Object.keys(policy.workloads).map(own),
    ...Object.values(policy.external).flatMap((e) =>
      e.serviceAccount ? [spiffeId(e.serviceAccount, e.namespace, policy.trustDomain)] : [],
    ),
  ]);
  return {
    destination,
    check(caller, method, path) {
      if (HEALTH_PATHS.has(path)) return undefined;
      if (caller === undefined) return 'the client certificate carries no SPIFFE id';
      const g = grants.get(caller);
      if (g === undefined) {
        return known.has(caller)
          ? `mesh/policy.yaml has no edge ${identityLabel(caller)} -> ${destination}`
          : `unknown identity: ${caller} is no workload of mesh/policy.yaml`;
      }
      if (g.allows === undefined || g.allows(method, path)) return undefined;
      return `${identityLabel(caller)} may not ${method} ${path} on ${destination}; mesh/policy.yaml allows only ${describeOperations(g.operations ?? [])}`;
    },
  };
}

interface Peer {
  readonly id: SpiffeId | undefined;
  /** The peer certificate's expiry, ms since the epoch. */
  readonly notAfter: number;
  /** From then on (three quarters of its lifetime) the connection is asked to close. */
  readonly retireAt: number;
  /** This server's certificate on the connection (the one current at its first request): expiry and retirement. */
  readonly ownNotAfter: number;
  readonly ownRetireAt: number;
}

type OwnIdentity = { readonly current: { readonly notAfter: number; readonly notBefore: number } };

/** Three quarters into a certificate's lifetime: renewed at half-life, so its holder has a newer one. */
function retireAt(notBefore: number, notAfter: number): number {
  return notAfter - (notAfter - notBefore) / 4;
}

const peers = new WeakMap<object, Peer>();

/** The verified peer of a TLS socket (read once per connection). */
function peerOf(socket: TLSSocket, own?: OwnIdentity): Peer {
  let p = peers.get(socket);
  if (p === undefined) {
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    const notAfter = cert?.valid_to ? Date.parse(cert.valid_to) : 0;
    const notBefore = cert?.valid_from ? Date.parse(cert.valid_from) : 0;
    const mine = own?.current;
    p = {
      id: spiffeIdOf(cert),
      notAfter,
      retireAt: retireAt(notBefore, notAfter),
      ownNotAfter: mine?.notAfter ?? Number.POSITIVE_INFINITY,
      ownRetireAt: mine ? retireAt(mine.notBefore, mine.notAfter) : Number.POSITIVE_INFINITY,
    };
    peers.set(socket, p);
  }
  return p;
}

/**
 * The express middleware enforcing `rules` on mTLS sockets. It also ends
 * keep-alive connections that outlived a certificate — TLS checks expiry
 * only at the handshake, so without this an expired identity would keep
 * working on an old connection:
 * - the caller's certificate expired: 403 MESH_ERR_FORBIDDEN naming it;
 * - this server's own certificate expired (its CA did not renew it): 503
 *   MESH_ERR_IDENTITY, so the caller reconnects and its handshake refuses
 *   the expired certificate — it fails closed.
 * Either answer closes the connection. Before it comes to that, a
 * connection whose certificates (the caller's or this server's) are past
 * three quarters of their lifetime — both sides hold renewed ones by then —
 * gets `connection: close` on its next response: the caller finishes the
 * request and reconnects with its current certificate, so rotation never
 * fails a request.
 */
export function authorize(rules: AuthorizationRules, logger: Logger, own?: OwnIdentity) {
  const denied = counter('authzDenied');
  return (req: Request, res: Response, next: NextFunction): void => {
    const socket = req.socket as TLSSocket;
    if (socket.encrypted !== true) {
      next();
      return;
    }
    const peer = peerOf(socket, own);
    const now = Date.now();
    if (now >= peer.retireAt || now >= peer.ownRetireAt) res.setHeader('connection', 'close');
    if (peer.ownNotAfter <= now && !HEALTH_PATHS.has(req.path)) {
      const why = `this server's certificate expired at ${new Date(peer.ownNotAfter).toISOString()}${own && own.current.notAfter > now ? '' : ' and was not renewed'}`;
      logger.error({ caller: peer.id ?? 'none', check: why }, 'refusing to serve on an expired identity');
      next(new MeshError('MESH_ERR_IDENTITY', why, { status: 503 }));
      return;
    }
    const why =
      peer.notAfter <= now
        ? `client certificate expired at ${new Date(peer.notAfter).toISOString()}`
        : rules.check(peer.id, req.method, req.path);
    if (why === undefined) {
      next();
      return;
    }
    denied.labels(identityLabel(peer.id), rules.destination).inc();
    logger.warn(
      { caller: peer.id ?? 'none', method: req.method, path: req.path, check: why },
      'authorization denied',
    );
    next(new MeshError('MESH_ERR_FORBIDDEN', `${req.method} ${req.path} refused: ${why}`));
  };
}
