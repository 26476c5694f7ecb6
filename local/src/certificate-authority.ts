/**
 * The local platform's certificate authority, run inside the supervisor: a
 * root made fresh for each run (kept in `<run>/ca/`, never committed), and
 * for each process a short-lived certificate whose URI SAN is the SPIFFE id
 * Istio would give it (`spiffe://cluster.local/ns/breakwater/sa/<service>`),
 * written to `<run>/ca/identities/<process>/{cert,key,ca}.pem`, the folder
 * the process reads as BW_TLS_DIR and watches. Each certificate is renewed
 * at half its lifetime (default 1 h; drills use a minute), so a process
 * never restarts for a certificate.
 *
 * `refuse(serviceAccount)` makes the CA refuse to renew one identity (the
 * cert-expiry drill): its certificate runs out and its peers refuse it;
 * `refuse(…, false)` renews it at once.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeIdentityFiles } from '@breakwater/mesh/identity/files';
import { createRootCa, type RootCa } from '@breakwater/mesh/identity/issuer';
import { type SpiffeId, spiffeId } from '@breakwater/mesh/identity/spiffe';
import { LocalError } from './errors.ts';

export const DEFAULT_CERT_LIFETIME_MS = 3_600_000; // 1 h, Istio's default workload certificate is 24 h
const MIN_LIFETIME_MS = 10_000; // below this, renewal at half-life races the processes' file watchers
const REFUSED_RETRY_MS = 1_000; // a refused renewal is tried again this often

/** Prometheus's identity on a cluster (mesh/policy.yaml `external.prometheus`), so the same policy allows it here. */
export const PROMETHEUS_IDENTITY = spiffeId('kube-prometheus-stack-prometheus', 'monitoring');
/** The supervisor's own identity: it probes /health/* (any mesh certificate may), nothing else. */
export const SUPERVISOR_IDENTITY = spiffeId('supervisor');

export interface CertificateAuthorityOptions {
  /** `<run>/ca`: wiped and made anew at start. */
  dir: string;
  /** Workload certificate lifetime, ms (default 1 h, at least 10 s). Renewed at half-life. */
  lifetimeMs?: number;
  /** Renewal events and refusals, one line each. */
  log?: (line: string) => void;
}

interface Issued {
  readonly id: SpiffeId;
  notAfter: number;
  timer: NodeJS.Timeout | undefined;
}

export interface IdentityStatus {
  readonly name: string;
  readonly id: SpiffeId;
  readonly notAfter: string;
  readonly refused: boolean;
}

function checkLifetime(lifetimeMs: number): number {
  if (!Number.isInteger(lifetimeMs) || lifetimeMs < MIN_LIFETIME_MS) {
    throw new LocalError(
      'LOCAL_ERR_BAD_INPUT',
      `certificate lifetime must be a whole number of ms ≥ ${MIN_LIFETIME_MS}, got ${lifetimeMs}`,
    );
  }
  return lifetimeMs;
}

export class CertificateAuthority {
  readonly dir: string;
  /** The root certificate (PEM): what curl needs as --cacert. */
  readonly caFile: string;
  #lifetimeMs: number;
  readonly #root: RootCa;
  readonly #log: (line: string) => void;
  readonly #issued = new Map<string, Issued>();
  readonly #refused = new Set<string>();
  #closed = false;

  private constructor(dir: string, root: RootCa, lifetimeMs: number, log: (line: string) => void) {
    this.dir = dir;
    this.caFile = path.join(dir, 'ca.pem');
    this.#root = root;
    this.#lifetimeMs = lifetimeMs;
    this.#log = log;
  }

  /** Makes a fresh root in `dir` (the previous run's is removed). */
  static async start(o: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const lifetimeMs = checkLifetime(o.lifetimeMs ?? DEFAULT_CERT_LIFETIME_MS);
    rmSync(o.dir, { recursive: true, force: true });
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const root = await createRootCa({ name: 'breakwater local mesh root' });
    const ca = new CertificateAuthority(o.dir, root, lifetimeMs, o.log ?? (() => {}));
    writeFileSync(ca.caFile, root.cert, { mode: 0o644 });
    writeFileSync(path.join(o.dir, 'ca-key.pem'), root.key, { mode: 0o600 });
    return ca;
  }

  /** Workload certificate lifetime, ms. */
  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  /**
   * Changes the lifetime and re-issues every certificate not refused now (the
   * cert-expiry drill: a minute under load, then back). Resolves with the names re-issued.
   */
  async setLifetime(lifetimeMs: number): Promise<string[]> {
    this.#lifetimeMs = checkLifetime(lifetimeMs);
    const names: string[] = [];
    for (const [name, e] of this.#issued) {
      if (this.#refused.has(e.id)) continue;
      clearTimeout(e.timer);
      await this.#write(name, e);
      names.push(name);
    }
    this.#log(`ca: certificate lifetime now ${lifetimeMs / 1000} s; re-issued ${names.length}`);
    return names;
  }

  /** The folder of a process's identity (its BW_TLS_DIR). */
  identityDir(name: string): string {
    return path.join(this.dir, 'identities', name);
  }

  /**
   * Issues (or re-issues) the certificate of process `name` with `id`
   * (a ServiceAccount in namespace breakwater, or a whole SPIFFE id) and
   * keeps renewing it at half-life. Resolves with its folder.
   */
  async issue(name: string, id: string): Promise<string> {
    const spiffe: SpiffeId = id.startsWith('spiffe://') ? (id as SpiffeId) : spiffeId(id);
    const prev = this.#issued.get(name);
    clearTimeout(prev?.timer);
    const entry: Issued = { id: spiffe, notAfter: 0, timer: undefined };
    this.#issued.set(name, entry);
    await this.#write(name, entry);
    return this.identityDir(name);
  }

  /** Stops renewing a process's certificate (it was removed); its files stay until the run ends. */
  forget(name: string): void {
    clearTimeout(this.#issued.get(name)?.timer);
    this.#issued.delete(name);
  }

  /**
   * Refuse (or, with `refuse = false`, allow again) renewals for every process
   * with this ServiceAccount or SPIFFE id. Allowing again renews them at once.
   */
  refuse(identity: string, refuse = true): string[] {
    const spiffe = identity.startsWith('spiffe://') ? identity : spiffeId(identity);
    const names = [...this.#issued].filter(([, e]) => e.id === spiffe).map(([n]) => n);
    if (names.length === 0) {
      const known = [...new Set([...this.#issued.values()].map((e) => e.id))].sort();
      throw new LocalError(
        'LOCAL_ERR_BAD_INPUT',
        `no process holds ${spiffe}; identities: ${known.join(', ')}`,
      );
    }
    if (refuse) this.#refused.add(spiffe);
    else if (this.#refused.delete(spiffe)) {
      for (const n of names) {
        const e = this.#issued.get(n);
        if (e) {
          clearTimeout(e.timer);
          void this.#renew(n, e);
        }
      }
    }
    this.#log(`ca: ${refuse ? 'refusing' : 'renewing again'} ${spiffe} (${names.join(', ')})`);
    return names;
  }

  status(): IdentityStatus[] {
    return [...this.#issued].map(([name, e]) => ({
      name,
      id: e.id,
      notAfter: new Date(e.notAfter).toISOString(),
      refused: this.#refused.has(e.id),
    }));
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#issued.values()) clearTimeout(e.timer);
  }

  async #write(name: string, e: Issued): Promise<void> {
    const leaf = await this.#root.issue(e.id, this.#lifetimeMs);
    writeIdentityFiles(this.identityDir(name), { cert: leaf.cert, key: leaf.key, ca: this.#root.cert });
    e.notAfter = leaf.notAfter.getTime();
    this.#schedule(name, e, this.#lifetimeMs / 2);
  }

  #schedule(name: string, e: Issued, inMs: number): void {
    if (this.#closed) return;
    e.timer = setTimeout(() => void this.#renew(name, e), inMs);
    e.timer.unref();
  }

  async #renew(name: string, e: Issued): Promise<void> {
    if (this.#closed || this.#issued.get(name) !== e) return;
    if (this.#refused.has(e.id)) {
      this.#log(`ca: refused to renew ${name} (${e.id}); it expires ${new Date(e.notAfter).toISOString()}`);
      this.#schedule(name, e, REFUSED_RETRY_MS * 10);
      return;
    }
    try {
      await this.#write(name, e);
    } catch (err) {
      this.#log(`ca: renewing ${name} failed: ${(err as Error).message}; retrying`);
      this.#schedule(name, e, REFUSED_RETRY_MS);
    }
  }
}
