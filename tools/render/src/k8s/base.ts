/**
 * k8s/base: one file per workload (ServiceAccount, Deployment or
 * StatefulSet, Service, HPA and PDB where they apply), the namespace, the
 * migration Jobs, and a kustomization with the ConfigMap and Secret
 * generators. Typed with kubernetes-models, so tsc rejects a misspelt field.
 */

import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, INamespace, IPodSpec, IService, IServiceAccount } from 'kubernetes-models/v1';
import {
  type ConfigFile,
  configDir,
  configEnv,
  fakePassword,
  HTTP_SERVICE_PORT,
  IMAGES,
  image,
  NODE_WORKLOADS,
  type NodeWorkload,
  ownDatabase,
  secretEnv,
} from './platform.ts';

export const NAME = 'app.kubernetes.io/name';
export const COMPONENT = 'app.kubernetes.io/component';
const PART_OF = { 'app.kubernetes.io/part-of': 'breakwater' };

const labels = (name: string, component: string) => ({ [NAME]: name, [COMPONENT]: component, ...PART_OF });
const selector = (name: string, component: string) => ({ [NAME]: name, [COMPONENT]: component });

/** The container hardening every Breakwater container gets. */
export const HARDENED: IContainer['securityContext'] = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

const podSecurity = (uid: number): IPodSpec['securityContext'] => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  fsGroup: uid,
  seccompProfile: { type: 'RuntimeDefault' },
});

/** distroless `nonroot`. */
const NODE_UID = 65532;
/** The `postgres` and `redis` users of the official images. */
const DATASTORE_UID = 999;

function spread(name: string, component: string): IPodSpec['topologySpreadConstraints'] {
  return ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector(name, component) },
    matchLabelKeys: ['pod-template-hash'],
  }));
}

function serviceAccount(name: string): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, labels: { [NAME]: name, ...PART_OF } },
    automountServiceAccountToken: false,
  };
}

/** ConfigMap keys cannot hold '/': `dev-keys/dev.jwks.json` → `dev-keys.dev.jwks.json`. */
const configKey = (f: ConfigFile) => f.path.replaceAll('/', '.');

function nodeContainer(policy: MeshPolicy, w: NodeWorkload, config: readonly ConfigFile[]): IContainer {
  const port = policy.workloads[w.name]?.port ?? 8080;
  return {
    name: w.name,
    image: image(w.name),
    imagePullPolicy: 'IfNotPresent',
    // The image's bundle of w.entry (the Dockerfile builds it): no type stripping at run time.
    args: ['main.mjs'],
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name: `${w.name}-env` } }, { secretRef: { name: `${w.name}-secrets` } }],
    ...(w.consumerNameEnv
      ? { env: [{ name: w.consumerNameEnv, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }
      : {}),
    // Start-up may wait for PostgreSQL and Redis; readiness goes false while a
    // hard dependency is down or the process drains; liveness only fails when
    // the event loop is stuck, so a dependency outage never restarts pods.
    startupProbe: { httpGet: { path: '/health/live', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
    livenessProbe: {
      httpGet: { path: '/health/live', port: 'http' },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/health/ready', port: 'http' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    // Keep serving while endpoints are removed from every proxy; distroless has
    // no `sleep` binary, so the kubelet's native sleep action (k8s ≥ 1.30).
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '384Mi' } },
    securityContext: HARDENED,
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(config.length > 0 ? [{ name: 'config', mountPath: configDir(w.name), readOnly: true }] : []),
    ],
  };
}

function nodeWorkloadObjects(policy: MeshPolicy, w: NodeWorkload, config: readonly ConfigFile[]): object[] {
  const spec = policy.workloads[w.name];
  if (spec === undefined) throw new Error(`${w.name} is not in mesh/policy.yaml`);
  const component = spec.kind === 'worker' ? 'worker' : 'server';
  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: w.name, labels: labels(w.name, component) },
    spec: {
      replicas: w.replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: selector(w.name, component) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(w.name, component),
          // where the metrics are; Istio's agent reads these to merge them into :15020
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(spec.port),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          serviceAccountName: w.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // preStop (5 s) + the process's drain (10 s) fit well inside this
          terminationGracePeriodSeconds: 30,
          securityContext: podSecurity(NODE_UID),
          topologySpreadConstraints: spread(w.name, component),
          containers: [nodeContainer(policy, w, config)],
          volumes: [
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ...(config.length > 0
              ? [
                  {
                    name: 'config',
                    configMap: {
                      name: `${w.name}-config`,
                      items: config.map((f) => ({ key: configKey(f), path: f.path })),
                    },
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
  const out: object[] = [serviceAccount(w.name), deployment];
  if (spec.kind === 'service') {
    const service: IService = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: w.name, labels: labels(w.name, component) },
      spec: {
        selector: selector(w.name, component),
        ports: [
          { name: 'http', port: HTTP_SERVICE_PORT, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
        ],
      },
    };
    out.push(service);
  }
  const hpa: IHorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: w.name, labels: labels(w.name, component) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: w.name },
      minReplicas: w.replicas,
      maxReplicas: w.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 120 } },
    },
  };
  const pdb: IPodDisruptionBudget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: w.name, labels: labels(w.name, component) },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector(w.name, component) } },
  };
  out.push(hpa, pdb);
  return out;
}

function migrationJob(w: NodeWorkload): IJob {
  if (w.migrate === undefined) throw new Error(`${w.name} has no migrations`);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${w.name}-migrate`, labels: labels(w.name, 'migration') },
    spec: {
      backoffLimit: 10, // the database may still be starting
      template: {
        metadata: { labels: labels(w.name, 'migration') },
        spec: {
          serviceAccountName: w.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          restartPolicy: 'OnFailure',
          securityContext: podSecurity(NODE_UID),
          containers: [
            {
              name: 'migrate',
              image: image(w.name),
              imagePullPolicy: 'IfNotPresent',
              args: [w.migrate, 'up'],
              env: [
                {
                  name: 'DATABASE_URL',
                  valueFrom: { secretKeyRef: { name: `${w.name}-secrets`, key: 'DATABASE_URL' } },
                },
              ],
              resources: {
                requests: { cpu: '50m', memory: '96Mi' },
                limits: { cpu: '500m', memory: '256Mi' },
              },
              securityContext: HARDENED,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
        },
      },
    },
  };
}

function datastoreObjects(policy: MeshPolicy, name: string): object[] {
  const port = policy.workloads[name]?.port;
  if (port === undefined) throw new Error(`${name} is not in mesh/policy.yaml`);
  const isRedis = name === 'redis';
  const db = name.slice('pg-'.length);
  const exec = (cmd: string[]) => ({ exec: { command: cmd } });
  const check = isRedis
    ? exec(['redis-cli', '-h', '127.0.0.1', '-p', String(port), 'ping'])
    : exec(['pg_isready', '-h', '127.0.0.1', '-p', String(port), '-U', db, '-d', db]);
  const container: IContainer = isRedis
    ? {
        name: 'redis',
        image: IMAGES.redis,
        // appendfsync always: an acknowledged XADD survives a crash of Redis (local/src/redis.ts says why).
        args: [
          'redis-server',
          '--port',
          String(port),
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--dir',
          '/data',
        ],
        ports: [{ name: 'redis', containerPort: port, protocol: 'TCP' }],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
      }
    : {
        name: 'postgres',
        image: IMAGES.postgres,
        args: ['-c', `port=${port}`],
        ports: [{ name: 'postgres', containerPort: port, protocol: 'TCP' }],
        env: [
          { name: 'POSTGRES_USER', value: db },
          { name: 'POSTGRES_DB', value: db },
          { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
          {
            name: 'POSTGRES_PASSWORD',
            valueFrom: { secretKeyRef: { name: `${name}-secrets`, key: 'POSTGRES_PASSWORD' } },
          },
        ],
        volumeMounts: [
          { name: 'data', mountPath: '/var/lib/postgresql/data' },
          { name: 'run', mountPath: '/var/run/postgresql' },
          { name: 'tmp', mountPath: '/tmp' },
        ],
        resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      };
  Object.assign(container, {
    imagePullPolicy: 'IfNotPresent',
    startupProbe: { ...check, periodSeconds: 2, failureThreshold: 60 },
    livenessProbe: { ...check, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    readinessProbe: { ...check, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
    securityContext: HARDENED,
  } satisfies Partial<IContainer>);
  const statefulSet: IStatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, labels: labels(name, 'datastore') },
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: selector(name, 'datastore') },
      template: {
        metadata: { labels: labels(name, 'datastore') },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: podSecurity(DATASTORE_UID),
          containers: [container],
          volumes: isRedis
            ? []
            : [
                { name: 'run', emptyDir: { sizeLimit: '16Mi' } },
                { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
              ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: isRedis ? '1Gi' : '2Gi' } },
          },
        },
      ],
    },
  };
  const service: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: labels(name, 'datastore') },
    spec: {
      selector: selector(name, 'datastore'),
      ports: [
        { name: isRedis ? 'redis' : 'postgres', port, targetPort: port, protocol: 'TCP', appProtocol: 'tcp' },
      ],
    },
  };
  return [serviceAccount(name), statefulSet, service];
}

export interface BaseFile {
  path: string;
  objects: object[];
}

/** Where the base keeps its copy of a workload's config file (kustomize reads only files under k8s/base). */
export const baseConfigCopy = (workload: string, f: ConfigFile) => `${workload}-config/${f.path}`;

/**
 * The base's files (k8s/base/<file>) and the kustomization that lists them.
 *
 * @param extraEnv per workload, environment that comes from another source
 *   (the frontend's public API key from gateway.yaml).
 * @param configFiles per workload, the config files mounted into its config
 *   folder (ConfigMap `<name>-config`, generated from copies under k8s/base).
 */
export function renderBase(
  policy: MeshPolicy,
  extraEnv: Record<string, Record<string, string>> = {},
  configFiles: Record<string, readonly ConfigFile[]> = {},
): { files: BaseFile[]; kustomization: object } {
  const namespace: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: policy.namespace,
      labels: {
        ...PART_OF,
        // every pod here meets the "restricted" Pod Security Standard
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
  const files: BaseFile[] = [{ path: 'namespace.yaml', objects: [namespace] }];
  for (const w of NODE_WORKLOADS) {
    files.push({
      path: `${w.name}.yaml`,
      objects: nodeWorkloadObjects(policy, w, configFiles[w.name] ?? []),
    });
    if (w.migrate !== undefined) files.push({ path: `${w.name}-migrate.yaml`, objects: [migrationJob(w)] });
  }
  const datastores = Object.entries(policy.workloads)
    .filter(([, s]) => s.kind === 'datastore')
    .map(([n]) => n);
  for (const d of datastores) files.push({ path: `${d}.yaml`, objects: datastoreObjects(policy, d) });
  const literals = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: policy.namespace,
    resources: files.map((f) => f.path),
    configMapGenerator: [
      ...NODE_WORKLOADS.map((w) => ({
        name: `${w.name}-env`,
        literals: literals(configEnv(policy, w, extraEnv[w.name])),
      })),
      ...NODE_WORKLOADS.filter((w) => (configFiles[w.name] ?? []).length > 0).map((w) => ({
        name: `${w.name}-config`,
        files: (configFiles[w.name] ?? []).map((f) => `${configKey(f)}=${baseConfigCopy(w.name, f)}`),
      })),
    ],
    secretGenerator: [
      ...NODE_WORKLOADS.map((w) => ({ name: `${w.name}-secrets`, literals: literals(secretEnv(policy, w)) })),
      ...datastores
        .filter((d) => d.startsWith('pg-'))
        .map((d) => ({ name: `${d}-secrets`, literals: [`POSTGRES_PASSWORD=${fakePassword(d)}`] })),
    ],
  };
  // every Node workload that owns a database must have a migration Job, and vice versa
  for (const w of NODE_WORKLOADS)
    if ((ownDatabase(policy, w.name) !== undefined) !== (w.migrate !== undefined))
      throw new Error(`${w.name}: a migration Job exactly when it owns a database`);
  return { files, kustomization };
}
