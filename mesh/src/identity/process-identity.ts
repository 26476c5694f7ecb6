/**
 * The identity of this process from its environment, read once:
 *
 * | variable | meaning |
 * |---|---|
 * | `BW_TLS_DIR` | folder with `cert.pem`, `key.pem`, `ca.pem` (rewritten by the issuer before expiry) |
 * | `BW_MTLS` | `off` (or `false`, `0`): plaintext even when `BW_TLS_DIR` is set (comparison runs, `npm start -- --plaintext`) |
 *
 * Without `BW_TLS_DIR` the process speaks plain HTTP (unit tests, a cluster
 * where Istio's sidecars do mTLS and authorization instead).
 */
import { MeshError } from '../errors.ts';
import { WorkloadIdentity } from './workload-identity.ts';

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

/**
 * The process's workload identity (watched for rotation), or undefined when
 * mTLS is off. Throws MESH_ERR_IDENTITY naming the file when BW_TLS_DIR is
 * set but incomplete: a process that should have an identity does not start without one.
 */
export function processIdentity(env: NodeJS.ProcessEnv = process.env): WorkloadIdentity | undefined {
  if (cached?.env === env) return cached.identity;
  const dir = env.BW_TLS_DIR;
  const identity = dir && !mtlsDisabled(env) ? new WorkloadIdentity(dir) : undefined;
  cached = { env, identity };
  return identity;
}
