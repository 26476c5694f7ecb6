/**
 * SPIFFE ids as Istio gives them: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`,
 * carried as the certificate's only URI SAN. The local platform's CA issues
 * exactly these, so an identity means the same thing on a laptop and on a
 * cluster (where the Istio principal is the same string without `spiffe://`).
 */
export const TRUST_DOMAIN = 'cluster.local';
export const NAMESPACE = 'breakwater';

export type SpiffeId = `spiffe://${string}`;

export interface SpiffeParts {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** The SPIFFE id of a ServiceAccount (default namespace `breakwater`, trust domain `cluster.local`). */
export function spiffeId(
  serviceAccount: string,
  namespace: string = NAMESPACE,
  trustDomain: string = TRUST_DOMAIN,
): SpiffeId {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

const SPIFFE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The parts of an Istio-shaped SPIFFE id, or undefined when it is not one. */
export function parseSpiffeId(id: string): SpiffeParts | undefined {
  const m = SPIFFE.exec(id);
  return m
    ? { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string }
    : undefined;
}

/**
 * The URI SANs of a certificate from Node's `subjectaltname` string
 * ("URI:spiffe://…, DNS:…"): node:tls' PeerCertificate and crypto.X509Certificate
 * both give it in this form.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** The one SPIFFE id of a peer certificate, or undefined (none, or more than one: SPIFFE allows exactly one). */
export function spiffeIdOf(
  cert: { readonly subjectaltname?: string | undefined } | undefined,
): SpiffeId | undefined {
  const ids = uriSans(cert?.subjectaltname).filter((u) => u.startsWith('spiffe://'));
  return ids.length === 1 ? (ids[0] as SpiffeId) : undefined;
}

/** A short label for metrics and logs: the ServiceAccount inside our namespace, else the whole id. */
export function identityLabel(id: SpiffeId | undefined): string {
  if (id === undefined) return 'none';
  const p = parseSpiffeId(id);
  return p && p.namespace === NAMESPACE && p.trustDomain === TRUST_DOMAIN ? p.serviceAccount : id;
}
