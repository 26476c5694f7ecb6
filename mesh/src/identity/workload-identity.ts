/**
 * A process's workload identity: its certificate, key and the mesh's CA
 * bundle, read from one folder that the issuer (locally the supervisor's CA,
 * on a cluster cert-manager's csi-driver-spiffe) rewrites before the
 * certificate expires. The file names are the local CA's (`cert.pem`,
 * `key.pem`, `ca.pem`) unless given (`IdentityFiles`: csi-driver-spiffe
 * writes `tls.crt`, `tls.key`, `ca.crt`). The folder is
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
import { type FSWatcher, mkdirSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gauge } from '@breakwater/observability';
import type { Disposable } from '../breaker.ts';
import { MeshError } from '../errors.ts';
import { identityLabel, type SpiffeId, spiffeIdOf } from './spiffe.ts';

export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
export const CA_FILE = 'ca.pem';

/** The names of the three files inside the identity folder. */
export interface IdentityFiles {
  /** The certificate (chain), PEM; default `cert.pem`. */
  readonly cert: string;
  /** Its private key, PEM; default `key.pem`. */
  readonly key: string;
  /** The CA bundle callers' and servers' certificates are checked against, PEM; default `ca.pem`. */
  readonly ca: string;
}

/** The local CA's names (local/src/certificate-authority.ts writes them with writeIdentityFiles). */
export const DEFAULT_IDENTITY_FILES: IdentityFiles = Object.freeze({
  cert: CERT_FILE,
  key: KEY_FILE,
  ca: CA_FILE,
});

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
export function readIdentity(dir: string, files: IdentityFiles = DEFAULT_IDENTITY_FILES): IdentityMaterial {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f));
    } catch (err) {
      throw new MeshError('MESH_ERR_IDENTITY', `cannot read ${path.join(dir, f)}: ${(err as Error).message}`);
    }
  };
  const [cert, key, ca] = [read(files.cert), read(files.key), read(files.ca)];
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new MeshError('MESH_ERR_IDENTITY', `${files.cert} is not a certificate: ${(err as Error).message}`);
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    matches = false;
  }
  if (!matches)
    throw new MeshError('MESH_ERR_IDENTITY', `${files.key} does not match ${files.cert} in ${dir}`);
  const id = spiffeIdOf({ subjectaltname: x509.subjectAltName });
  if (!id)
    throw new MeshError('MESH_ERR_IDENTITY', `${files.cert} in ${dir} carries no (single) spiffe:// URI SAN`);
  return { id, cert, key, ca, notAfter: Date.parse(x509.validTo), notBefore: Date.parse(x509.validFrom) };
}

const POLL_MS = 5_000; // a safety net under fs.watch (which can miss events on some file systems)

export class WorkloadIdentity {
  readonly dir: string;
  readonly files: IdentityFiles;
  #current: IdentityMaterial;
  readonly #listeners = new Set<(m: IdentityMaterial) => void>();
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  /**
   * Reads the folder now (throws MESH_ERR_IDENTITY when it is incomplete); `watch` follows
   * rotations; `files` names the three files (default DEFAULT_IDENTITY_FILES).
   */
  constructor(dir: string, options: { watch?: boolean; files?: IdentityFiles } = {}) {
    this.dir = dir;
    this.files = options.files ?? DEFAULT_IDENTITY_FILES;
    this.#current = readIdentity(dir, this.files);
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
      next = readIdentity(this.dir, this.files);
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

/**
 * Writes one identity into `dir` the way a reader expects: each file to a
 * temp name then renamed; the CA bundle first, then the key, then the
 * certificate, so a reader that sees the new certificate also sees its key
 * (a reader between the two finds a mismatch and waits for the next event).
 */
export function writeIdentityFiles(dir: string, pem: { cert: string; key: string; ca: string }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (file: string, text: string, mode: number) => {
    const tmp = path.join(dir, `.${file}.${process.pid}.tmp`);
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path.join(dir, file));
  };
  put(CA_FILE, pem.ca, 0o644);
  put(KEY_FILE, pem.key, 0o600);
  put(CERT_FILE, pem.cert, 0o644);
}
