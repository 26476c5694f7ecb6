/**
 * A process's workload identity: its certificate, key and the mesh's CA
 * bundle, read from one folder (`cert.pem`, `key.pem`, `ca.pem`) that the
 * issuer (locally the supervisor's CA, on a cluster cert-manager's
 * csi-driver-spiffe) rewrites before the certificate expires. The folder is
 * watched; each complete, consistent set of files becomes the new
 * `current` and listeners hear of it, so servers swap their secure context
 * and clients their connector without a restart (connections already open
 * keep the old certificate until they close).
 *
 * A half-written set (the key renamed in, the certificate not yet) is not
 * taken: the key must match the certificate, so the next file event or poll
 * picks up the complete set.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { gauge } from '@breakwater/observability';
import type { Disposable } from '../breaker.ts';
import { MeshError } from '../errors.ts';
import { CA_FILE, CERT_FILE, KEY_FILE } from './identity-files.ts';
import { identityLabel, type SpiffeId, spiffeIdOf } from './spiffe.ts';

export { CA_FILE, CERT_FILE, KEY_FILE, writeIdentityFiles } from './identity-files.ts';

/** One loaded set of files. */
export interface IdentityMaterial {
  readonly id: SpiffeId;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  /** Expiry, ms since the epoch. */
  readonly notAfter: number;
  /** Start of validity, ms since the epoch. */
  readonly notBefore: number;
}

/** Reads and checks one set; throws MESH_ERR_IDENTITY naming the file and the check that failed. */
export function readIdentity(dir: string): IdentityMaterial {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f));
    } catch (err) {
      throw new MeshError('MESH_ERR_IDENTITY', `cannot read ${path.join(dir, f)}: ${(err as Error).message}`);
    }
  };
  const [cert, key, ca] = [read(CERT_FILE), read(KEY_FILE), read(CA_FILE)];
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new MeshError('MESH_ERR_IDENTITY', `${CERT_FILE} is not a certificate: ${(err as Error).message}`);
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    matches = false;
  }
  if (!matches) throw new MeshError('MESH_ERR_IDENTITY', `${KEY_FILE} does not match ${CERT_FILE} in ${dir}`);
  const id = spiffeIdOf({ subjectaltname: x509.subjectAltName });
  if (!id)
    throw new MeshError('MESH_ERR_IDENTITY', `${CERT_FILE} in ${dir} carries no (single) spiffe:// URI SAN`);
  return { id, cert, key, ca, notAfter: Date.parse(x509.validTo), notBefore: Date.parse(x509.validFrom) };
}

const POLL_MS = 5_000; // a safety net under fs.watch (which can miss events on some file systems)

export class WorkloadIdentity {
  readonly dir: string;
  #current: IdentityMaterial;
  readonly #listeners = new Set<(m: IdentityMaterial) => void>();
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  /** Reads the folder now (throws MESH_ERR_IDENTITY when it is incomplete); `watch` follows rotations. */
  constructor(dir: string, options: { watch?: boolean } = {}) {
    this.dir = dir;
    this.#current = readIdentity(dir);
    this.#export();
    if (options.watch !== false) {
      this.#watcher = watch(dir, () => this.#soon());
      this.#watcher.on('error', () => {}); // the poll keeps going
      this.#watcher.unref();
      this.#poll = setInterval(() => this.reload(), POLL_MS);
      this.#poll.unref();
    }
  }

  get current(): IdentityMaterial {
    return this.#current;
  }

  get id(): SpiffeId {
    return this.#current.id;
  }

  /** Called with each new set of files (not with the one current at subscription). */
  onChange(listener: (m: IdentityMaterial) => void): Disposable {
    this.#listeners.add(listener);
    const dispose = () => {
      this.#listeners.delete(listener);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /** Re-reads the folder; true when a new certificate was taken. An incomplete set is skipped quietly. */
  reload(): boolean {
    let next: IdentityMaterial;
    try {
      next = readIdentity(this.dir);
    } catch {
      return false;
    }
    if (next.cert.equals(this.#current.cert) && next.ca.equals(this.#current.ca)) return false;
    this.#current = next;
    this.#export();
    for (const l of this.#listeners) l(next);
    return true;
  }

  close(): void {
    this.#watcher?.close();
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
    this.#listeners.clear();
  }

  #soon(): void {
    // The issuer writes key then certificate (each renamed in): one reload after both.
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.reload(), 50);
    this.#debounce.unref();
  }

  #export(): void {
    // Both ends of the validity: the BwCertificateNotRotated alert reads the lifetime from them.
    const identity = identityLabel(this.#current.id);
    gauge('certificateExpiry')
      .labels(identity)
      .set(this.#current.notAfter / 1000);
    gauge('certificateIssued')
      .labels(identity)
      .set(this.#current.notBefore / 1000);
  }
}
