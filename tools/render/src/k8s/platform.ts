/**
 * The workloads of the cluster deployment, declared once. Ports, callees and
 * datastores come from mesh/policy.yaml so the environment a Deployment gets
 * (<NAME>_URL, REDIS_URL, DATABASE_URL) is exactly the set of edges the
 * NetworkPolicies and AuthorizationPolicies allow.
 */
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';

export const NAMESPACE_LABELS = { 'app.kubernetes.io/part-of': 'breakwater' } as const;
/** Every image Breakwater builds, pinned by tag (the repo version). */
export const IMAGE_TAG = '0.1.0';
/** Third-party images, pinned by tag. */
export const IMAGES = {
  redis: 'redis:7.4.2-bookworm',
  postgres: 'postgres:17.2-bookworm',
} as const;

/**
 * A file a workload reads from its config folder (`configDir(name)`):
 * mounted read-only from ConfigMap `<name>-config` in k8s and bound from the
 * repository in compose, so no image carries a deployment's config or keys.
 */
export interface ConfigFile {
  /** Path under the config folder, as the workload's config names it. */
  path: string;
  /** Repo-relative source. */
  source: string;
}

/** Where a workload's config files are mounted. */
export const configDir = (name: string) => `/etc/breakwater/${name}`;

/** The Node processes: `node main.mjs` (the bundle of <entry>) in the image built from the Dockerfile (build argument SERVICE=<name>). */
export interface NodeWorkload {
  name: string;
  entry: string;
  /** `node <migrate>` runs the migrations in a Job (services owning a database). */
  migrate?: string;
  /** Environment beyond the conventions (see docs/conventions.md). */
  env?: Record<string, string>;
  /** Admin endpoint variables when they differ from BW_ADMIN_PORT / BW_ADMIN_TOKEN. */
  adminEnv?: { port: string; token: string };
  /** Set to the pod name: a Redis Streams consumer name unique per replica (pending-entry reclaim needs it). */
  consumerNameEnv?: string;
  replicas: number;
  maxReplicas: number;
}

export const NODE_WORKLOADS: readonly NodeWorkload[] = [
  {
    name: 'gateway',
    entry: 'gateway/src/main.ts',
    env: { GATEWAY_CONFIG: `${configDir('gateway')}/gateway.yaml` },
    adminEnv: { port: 'GATEWAY_ADMIN_PORT', token: 'GATEWAY_ADMIN_TOKEN' },
    replicas: 2,
    maxReplicas: 6,
  },
  {
    name: 'catalog',
    entry: 'services/catalog/src/main.ts',
    migrate: 'services/catalog/src/migrate.ts',
    env: { CATALOG_MIGRATE_ON_START: 'false' },
    replicas: 2,
    maxReplicas: 6,
  },
  {
    name: 'orders',
    entry: 'services/orders/src/main.ts',
    migrate: 'services/orders/src/migrate.ts',
    env: { ORDERS_MIGRATE_ON_START: 'false' },
    consumerNameEnv: 'ORDERS_CONSUMER_NAME',
    replicas: 2,
    maxReplicas: 6,
  },
  {
    name: 'payments',
    entry: 'services/payments/src/main.ts',
    migrate: 'services/payments/src/migrate.ts',
    env: { PAYMENTS_MIGRATE_ON_START: 'false' },
    consumerNameEnv: 'PAYMENTS_CONSUMER_NAME',
    replicas: 2,
    maxReplicas: 4,
  },
  {
    name: 'notifications',
    entry: 'services/notifications/src/main.ts',
    migrate: 'services/notifications/src/migrate.ts',
    env: { NOTIFICATIONS_MIGRATE_ON_START: 'false' },
    consumerNameEnv: 'NOTIFICATIONS_CONSUMER_NAME',
    replicas: 2,
    maxReplicas: 4,
  },
  { name: 'frontend', entry: 'services/frontend/src/main.ts', replicas: 2, maxReplicas: 4 },
];

export const image = (name: string) => `breakwater/${name}:${IMAGE_TAG}`;
/** The loopback-only admin endpoint (fault filter); never exposed by a Service. */
export const ADMIN_PORT = 9901;
export const HTTP_SERVICE_PORT = 80;

/** `catalog` → `CATALOG_URL`, as the gateway's config loader and the services read it. */
export const urlEnvName = (name: string) => `${name.toUpperCase().replaceAll('-', '_')}_URL`;

/** The database a workload owns (`pg-<name>`), if the policy lets it reach one. */
export function ownDatabase(policy: MeshPolicy, name: string): string | undefined {
  const dbs = (policy.calls[name] ?? []).filter((c) => c.startsWith('pg-'));
  if (dbs.length > 1) throw new Error(`${name} reaches more than one database: ${dbs.join(', ')}`);
  return dbs[0];
}

/** Fake local credentials: obviously not secrets, identical in compose.yaml and k8s. */
export const fakePassword = (db: string) => `not-a-secret-${db}-local-only`;
export const FAKE_ADMIN_TOKEN = 'not-a-secret-admin-token-local-only';

/** Non-secret environment of a Node workload, derived from its policy edges. */
export function configEnv(
  policy: MeshPolicy,
  w: NodeWorkload,
  extra: Record<string, string> = {},
  /** Port the callee's address listens on: the Service port in k8s, the container port in compose. */
  calleePort: (callee: string) => number = () => HTTP_SERVICE_PORT,
): Record<string, string> {
  const spec = policy.workloads[w.name];
  if (spec === undefined) throw new Error(`${w.name} is not a workload in mesh/policy.yaml`);
  const env: Record<string, string> = {
    HOST: '0.0.0.0',
    PORT: String(spec.port),
    BW_SERVICE: w.name,
    [w.adminEnv?.port ?? 'BW_ADMIN_PORT']: String(ADMIN_PORT),
    LOG_LEVEL: 'info',
  };
  for (const c of policy.calls[w.name] ?? []) {
    const callee = policy.workloads[c];
    if (callee?.kind === 'service') env[urlEnvName(c)] = `http://${c}:${calleePort(c)}`;
    else if (c === 'redis') env.REDIS_URL = `redis://redis:${callee?.port}`;
  }
  return { ...env, ...(w.env ?? {}), ...extra };
}

/** Secret environment of a Node workload (fake values). */
export function secretEnv(policy: MeshPolicy, w: NodeWorkload): Record<string, string> {
  const env: Record<string, string> = { [w.adminEnv?.token ?? 'BW_ADMIN_TOKEN']: FAKE_ADMIN_TOKEN };
  const db = ownDatabase(policy, w.name);
  if (db !== undefined) {
    const role = db.slice('pg-'.length);
    env.DATABASE_URL = `postgres://${role}:${fakePassword(db)}@${db}:${policy.workloads[db]?.port}/${role}`;
  }
  return env;
}
