/**
 * The files of a workload identity (`cert.pem`, `key.pem`, `ca.pem` in one
 * folder) and how an issuer writes them. Apart from workload-identity.ts,
 * which reads and watches them with metrics, so that an issuer (the local
 * supervisor's CA) loads neither prom-client nor undici for it.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
export const CA_FILE = 'ca.pem';

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
