/**
 * The identity of this process from its environment, read once:
 *
 * | variable | meaning |
 * |---|---|
 * | `BW_TLS_DIR` | folder with the certificate, its key and the CA bundle (rewritten by the issuer before expiry) |
 * | `BW_TLS_CERT_FILE` | the certificate's file name in it (default `cert.pem`; csi-driver-spiffe: `tls.crt`) |
 * | `BW_TLS_KEY_FILE` | the key's file name (default `key.pem`; csi-driver-spiffe: `tls.key`) |
 * | `BW_TLS_CA_FILE` | the CA bundle's file name (default `ca.pem`; csi-driver-spiffe: `ca.crt`) |
 * | `BW_MTLS` | `off` (or `false`, `0`): plaintext even when `BW_TLS_DIR` is set (comparison runs, `npm start -- --plaintext`, Istio overlays) |
 *
 * Without `BW_TLS_DIR` the process speaks plain HTTP (unit tests, a cluster
 * where Istio's sidecars do mTLS and authorization instead).
 */
import { MeshError } from '../errors.ts';
import { DEFAULT_IDENTITY_FILES, type IdentityFiles, WorkloadIdentity } from './workload-identity.ts';

let cached: { env: NodeJS.ProcessEnv; identity: WorkloadIdentity | undefined } | undefined;

/** Whether the environment turns mTLS off explicitly. */
export function mtlsDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.BW_MTLS?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'on' || v === 'true' || v === '1') return false;
  if (v === 'off' || v === 'false' || v === '0') return true;
  throw new MeshError(
    'MESH_ERR_IDENTITY',
    `invalid environment: BW_MTLS: must be on or off, got "${env.BW_MTLS}"`,
  );
}

const FILE_VARIABLES = { cert: 'BW_TLS_CERT_FILE', key: 'BW_TLS_KEY_FILE', ca: 'BW_TLS_CA_FILE' } as const;

/**
 * The identity files' names from BW_TLS_{CERT,KEY,CA}_FILE (defaults: the
 * local CA's). Each must be a plain file name inside BW_TLS_DIR — no path,
 * so the three always come from the one folder the issuer rewrites together
 * — and the three must differ; MESH_ERR_IDENTITY names the variable.
 */
export function identityFiles(env: NodeJS.ProcessEnv = process.env): IdentityFiles {
  const files = { ...DEFAULT_IDENTITY_FILES };
  for (const [field, variable] of Object.entries(FILE_VARIABLES) as [keyof IdentityFiles, string][]) {
    const v = env[variable];
    if (v === undefined) continue;
    if (v === '' || v === '.' || v === '..' || /[/\\\0]/.test(v))
      throw new MeshError(
        'MESH_ERR_IDENTITY',
        `invalid environment: ${variable}: must be a file name inside BW_TLS_DIR (no path), got "${v}"`,
      );
    files[field] = v;
  }
  for (const [field, variable] of Object.entries(FILE_VARIABLES) as [keyof IdentityFiles, string][]) {
    const other = (Object.keys(FILE_VARIABLES) as (keyof IdentityFiles)[]).find(
      (f) => f !== field && files[f] === files[field],
    );
    if (other !== undefined)
      throw new MeshError(
        'MESH_ERR_IDENTITY',
        `invalid environment: ${variable}: "${files[field]}" is also ${FILE_VARIABLES[other]}; the certificate, key and CA bundle are three files`,
      );
  }
  return Object.freeze(files);
}

/**
 * The process's workload identity (watched for rotation), or undefined when
 * mTLS is off. Throws MESH_ERR_IDENTITY naming the variable or the file when
 * BW_TLS_DIR is set but a name is invalid or the folder incomplete: a
 * process that should have an identity does not start without one.
 */
export function processIdentity(env: NodeJS.ProcessEnv = process.env): WorkloadIdentity | undefined {
  if (cached?.env === env) return cached.identity;
  const dir = env.BW_TLS_DIR;
  const identity =
    dir && !mtlsDisabled(env) ? new WorkloadIdentity(dir, { files: identityFiles(env) }) : undefined;
  cached = { env, identity };
  return identity;
}
