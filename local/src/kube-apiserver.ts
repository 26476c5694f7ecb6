/**
 * A Kubernetes control plane without nodes, for manifest checks: etcd and
 * kube-apiserver (optionally kube-controller-manager) on loopback ports in a
 * temporary folder, with one admin user (a bearer token in group
 * system:masters, authorization RBAC as on a real cluster). The binaries are
 * built by scripts/bootstrap.sh (`ensure_kube_tools`) from tools/etcd and
 * tools/kubernetes into .tools/bin. Start it with `startKubeApiServer()` from
 * harness.ts; these are the process specs.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './binaries.ts';
import { LocalError } from './errors.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { httpProbe, httpsProbe } from './readiness.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type KubeTool = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';

/** .tools/bin/<name> as the bootstrap builds it, else the first on PATH. */
export function findKubeTool(name: KubeTool): string {
  const built = path.join(REPO_ROOT, '.tools', 'bin', name);
  if (existsSync(built)) return built;
  const found = which(name);
  if (found) return found;
  throw new LocalError(
    'LOCAL_ERR_MISSING_BINARY',
    `${name} not found in .tools/bin: run \`npm run k8s:check\` (its bootstrap builds it from tools/${name === 'etcd' ? 'etcd' : 'kubernetes'}/go.mod; needs Go)`,
  );
}

/** The admin's credentials and the service-account key pair, written into `dir`. */
export interface KubeCredentials {
  /** Bearer token of user `breakwater-admin` (group system:masters). */
  readonly token: string;
  readonly tokenFile: string;
  readonly serviceAccountKeyFile: string;
  readonly serviceAccountPublicKeyFile: string;
}

/**
 * A fresh admin token and service-account signing key pair (kube-apiserver
 * refuses to start without one: it signs the tokens of pods' service accounts).
 */
export function writeKubeCredentials(dir: string): KubeCredentials {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  const tokenFile = path.join(dir, 'tokens.csv');
  // --token-auth-file: token,user,uid,"group1,group2"
  writeFileSync(tokenFile, `${token},breakwater-admin,breakwater-admin,"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serviceAccountKeyFile = path.join(dir, 'sa.key');
  const serviceAccountPublicKeyFile = path.join(dir, 'sa.pub');
  writeFileSync(serviceAccountKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(serviceAccountPublicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { token, tokenFile, serviceAccountKeyFile, serviceAccountPublicKeyFile };
}

export interface EtcdOptions {
  port: number;
  /** Its peer port (a one-member cluster still listens for peers). */
  peerPort: number;
  dir: string;
  logFile: string;
  readyTimeoutMs?: number;
}

export function etcdSpec(options: EtcdOptions): ProcessSpec {
  const client = `http://${LOOPBACK}:${options.port}`;
  const peer = `http://${LOOPBACK}:${options.peerPort}`;
  return {
    name: 'etcd',
    kind: 'other',
    command: findKubeTool('etcd'),
    args: [
      '--name=breakwater',
      `--data-dir=${path.join(options.dir, 'data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=breakwater=${peer}`,
      // Throw-away data: no fsync keeps applies fast on a shared disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    port: options.port,
    url: client,
    logFile: options.logFile,
    ready: httpProbe(`${client}/health`),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
  };
}

export interface KubeApiServerOptions {
  port: number;
  etcdUrl: string;
  dir: string;
  logFile: string;
  credentials: KubeCredentials;
  /** Default 90_000 (90 s): first start installs its bootstrap RBAC and priority objects. */
  readyTimeoutMs?: number;
}

/** The serving certificate kube-apiserver writes for itself (with its CA) when given none. */
export function kubeApiServerCaFile(dir: string): string {
  return path.join(dir, 'pki', 'apiserver.crt');
}

export function kubeApiServerSpec(options: KubeApiServerOptions): ProcessSpec {
  const { credentials: c } = options;
  const url = `https://${LOOPBACK}:${options.port}`;
  return {
    name: 'kube-apiserver',
    kind: 'other',
    command: findKubeTool('kube-apiserver'),
    args: [
      `--etcd-servers=${options.etcdUrl}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${options.port}`,
      // No --tls-cert-file: it writes a self-signed certificate (and its CA) here.
      `--cert-dir=${path.join(options.dir, 'pki')}`,
      `--token-auth-file=${c.tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${c.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${c.serviceAccountKeyFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--profiling=false',
    ],
    port: options.port,
    url,
    logFile: options.logFile,
    ready: httpsProbe(`${url}/readyz`, {
      caFile: kubeApiServerCaFile(options.dir),
      headers: { authorization: `Bearer ${c.token}` },
    }),
    readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
  };
}

/** A kubeconfig (JSON is YAML) for the admin, with the server's own CA. */
export function writeKubeconfig(file: string, server: string, caFile: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'breakwater', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'breakwater-admin', user: { token } }],
    contexts: [{ name: 'breakwater', context: { cluster: 'breakwater', user: 'breakwater-admin' } }],
    'current-context': 'breakwater',
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

export interface KubeControllerManagerOptions {
  port: number;
  kubeconfig: string;
  dir: string;
  logFile: string;
  /** Which controllers run (kube-controller-manager's --controllers). */
  controllers: readonly string[];
  readyTimeoutMs?: number;
}

export function kubeControllerManagerSpec(options: KubeControllerManagerOptions): ProcessSpec {
  const url = `https://${LOOPBACK}:${options.port}`;
  return {
    name: 'kube-controller-manager',
    kind: 'other',
    command: findKubeTool('kube-controller-manager'),
    args: [
      `--kubeconfig=${options.kubeconfig}`,
      `--authentication-kubeconfig=${options.kubeconfig}`,
      `--authorization-kubeconfig=${options.kubeconfig}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${options.port}`,
      `--cert-dir=${path.join(options.dir, 'pki')}`,
      `--controllers=${options.controllers.join(',')}`,
      '--leader-elect=false',
      '--profiling=false',
      // HPAs report on their target at every sync: 1 s instead of 15 s so a check need not wait.
      '--horizontal-pod-autoscaler-sync-period=1s',
    ],
    port: options.port,
    url,
    logFile: options.logFile,
    // /healthz is open to anyone (--authorization-always-allow-paths); its
    // certificate is self-signed on the spot, so the probe does not verify it.
    ready: httpsProbe(`${url}/healthz`, { insecure: true }),
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
  };
}
