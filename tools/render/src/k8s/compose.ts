/**
 * compose.yaml for users with Docker: the same workloads, environment and
 * fake credentials as k8s/base (one list, platform.ts), plus Redis,
 * one PostgreSQL per data-owning service, Prometheus with the rules of
 * observability/prometheus and Grafana with the provisioning and dashboards
 * of observability/grafana. Services migrate at start-up here (no Jobs).
 */
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import {
  type ConfigFile,
  configDir,
  configEnv,
  fakePassword,
  IMAGES,
  image,
  NODE_WORKLOADS,
  secretEnv,
} from './platform.ts';

export const PROMETHEUS_IMAGE = 'prom/prometheus:v3.5.0';
export const GRAFANA_IMAGE = 'grafana/grafana:12.1.1';
export const PROMETHEUS_CONFIG = 'k8s/compose/prometheus.yml';

const HARDENED = {
  read_only: true,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
};

const nodeHealthcheck = (port: number) => ({
  test: [
    'CMD',
    '/nodejs/bin/node',
    '-e',
    `fetch('http://127.0.0.1:${port}/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
  ],
  interval: '5s',
  timeout: '3s',
  retries: 12,
  start_period: '20s',
});

export function renderCompose(
  policy: MeshPolicy,
  extraEnv: Record<string, Record<string, string>>,
  configFiles: Record<string, readonly ConfigFile[]> = {},
): object {
  const services: Record<string, object> = {};
  const volumes: Record<string, object> = {};
  services.redis = {
    image: IMAGES.redis,
    command: ['redis-server', '--appendonly', 'yes', '--dir', '/data'],
    user: '999:999',
    volumes: ['redis-data:/data'],
    healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '2s', timeout: '2s', retries: 30 },
    ...HARDENED,
  };
  volumes['redis-data'] = {};
  for (const [name, spec] of Object.entries(policy.workloads)) {
    if (!name.startsWith('pg-')) continue;
    const db = name.slice('pg-'.length);
    services[name] = {
      image: IMAGES.postgres,
      environment: {
        POSTGRES_USER: db,
        POSTGRES_DB: db,
        POSTGRES_PASSWORD: fakePassword(name),
        PGDATA: '/var/lib/postgresql/data/pgdata',
      },
      user: '999:999',
      volumes: [`${name}-data:/var/lib/postgresql/data`],
      tmpfs: ['/var/run/postgresql', '/tmp'],
      healthcheck: {
        test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-p', String(spec.port), '-U', db, '-d', db],
        interval: '2s',
        timeout: '2s',
        retries: 30,
      },
      ...HARDENED,
    };
    volumes[`${name}-data`] = {};
  }
  for (const w of NODE_WORKLOADS) {
    const spec = policy.workloads[w.name];
    if (spec === undefined) throw new Error(`${w.name} is not in mesh/policy.yaml`);
    const env = {
      ...configEnv(policy, w, extraEnv[w.name], (c) => policy.workloads[c]?.port ?? 8080),
      ...secretEnv(policy, w),
    };
    // compose runs one replica per service, which migrates at start-up
    for (const k of Object.keys(env)) if (k.endsWith('_MIGRATE_ON_START')) delete env[k];
    if (w.consumerNameEnv) env[w.consumerNameEnv] = `${w.name}-1`;
    const dependsOn = Object.fromEntries(
      (policy.calls[w.name] ?? []).map((c) => [c, { condition: 'service_healthy' }]),
    );
    services[w.name] = {
      image: image(w.name),
      build: {
        context: '.',
        dockerfile: 'Dockerfile',
        args: { SERVICE: w.name },
      },
      environment: env,
      ...((configFiles[w.name] ?? []).length > 0
        ? {
            volumes: (configFiles[w.name] ?? []).map(
              (f) => `./${f.source}:${configDir(w.name)}/${f.path}:ro`,
            ),
          }
        : {}),
      ...(Object.keys(dependsOn).length > 0 ? { depends_on: dependsOn } : {}),
      ...(spec.public ? { ports: [`${spec.port}:${spec.port}`] } : {}),
      tmpfs: ['/tmp'],
      healthcheck: nodeHealthcheck(spec.port),
      stop_grace_period: '30s',
      ...HARDENED,
    };
  }
  services.prometheus = {
    image: PROMETHEUS_IMAGE,
    command: [
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      '--web.enable-remote-write-receiver',
      '--enable-feature=exemplar-storage',
    ],
    volumes: [
      `./${PROMETHEUS_CONFIG}:/etc/prometheus/prometheus.yml:ro`,
      './observability/prometheus/rules:/etc/prometheus/rules:ro',
      'prometheus-data:/prometheus',
    ],
    ports: ['9090:9090'],
    ...HARDENED,
  };
  volumes['prometheus-data'] = {};
  services.grafana = {
    image: GRAFANA_IMAGE,
    environment: {
      BW_ROOT: '/breakwater',
      PROMETHEUS_URL: 'http://prometheus:9090',
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_SECURITY_ADMIN_PASSWORD: 'not-a-secret-grafana-local-only',
    },
    volumes: [
      './observability/grafana/provisioning:/etc/grafana/provisioning:ro',
      './observability/grafana/dashboards:/breakwater/observability/grafana/dashboards:ro',
      'grafana-data:/var/lib/grafana',
    ],
    tmpfs: ['/tmp'],
    depends_on: { prometheus: { condition: 'service_started' } },
    ports: ['3000:3000'],
    ...HARDENED,
  };
  volumes['grafana-data'] = {};
  return { services, volumes };
}

/** Prometheus in compose: every service and worker on its port, the repo's rule files. */
export function renderComposePrometheus(policy: MeshPolicy): object {
  const targets = Object.entries(policy.workloads).filter(([, w]) => w.kind !== 'datastore');
  return {
    global: {
      scrape_interval: '5s',
      evaluation_interval: '5s',
      external_labels: { platform: 'breakwater-compose' },
    },
    rule_files: ['/etc/prometheus/rules/*.yml'],
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: ['127.0.0.1:9090'] }] },
      ...targets.map(([name, w]) => ({
        job_name: name,
        metrics_path: '/metrics',
        static_configs: [{ targets: [`${name}:${w.port}`], labels: { service: name } }],
      })),
    ],
  };
}
