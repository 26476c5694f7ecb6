/**
 * Grafana for the local platform, when one is installed: started against the
 * generated provisioning in observability/grafana/provisioning (the
 * Prometheus and Zipkin data sources, exemplars linking the one to the other,
 * and the Breakwater dashboards), anonymous viewer
 * access, bound to loopback. Grafana is not in Debian's archive, so where it
 * is missing `up` says how to get one instead.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { which } from './binaries.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { httpProbe } from './readiness.ts';

export interface GrafanaBinary {
  command: string;
  /** `grafana server` (Grafana ≥ 10) or the older `grafana-server`. */
  args: string[];
  homepath: string | undefined;
}

/** The installed Grafana, or undefined. */
export function findGrafana(envPath = process.env.PATH ?? ''): GrafanaBinary | undefined {
  const modern = which('grafana', envPath);
  const legacy = modern ? undefined : which('grafana-server', envPath);
  const command = modern ?? legacy;
  if (!command) return undefined;
  // Packages keep Grafana's static files in its home path; the server needs it.
  const candidates = ['/usr/share/grafana', path.resolve(path.dirname(command), '..', 'share', 'grafana')];
  const homepath = candidates.find((d) => existsSync(path.join(d, 'conf', 'defaults.ini')));
  return { command, args: modern ? ['server'] : [], homepath };
}

export const GRAFANA_MISSING = [
  'Grafana: not installed, so not started. To see the dashboards, install Grafana (https://grafana.com/docs/grafana/latest/setup-grafana/installation/;',
  '  macOS: brew install grafana) and run npm start again, or load observability/grafana/dashboards/*.json into an existing Grafana',
  '  with a Prometheus data source pointing at {prometheusUrl} (README: "Observability and dashboards").',
];

export interface GrafanaOptions {
  binary: GrafanaBinary;
  root: string;
  dir: string;
  port: number;
  prometheusUrl: string;
  /** The Zipkin datasource's URL (exemplars open traces there); default Zipkin's usual http://127.0.0.1:9411. */
  zipkinUrl?: string;
  logFile: string;
  tier?: number;
  portHint?: string;
}

export function grafanaSpec(o: GrafanaOptions): ProcessSpec {
  const url = `http://${LOOPBACK}:${o.port}`;
  const data = path.join(o.dir, 'data');
  return {
    name: 'grafana',
    kind: 'grafana',
    command: o.binary.command,
    args: [...o.binary.args, ...(o.binary.homepath ? [`--homepath=${o.binary.homepath}`] : [])],
    env: {
      // read by the provisioning files
      BW_ROOT: o.root,
      PROMETHEUS_URL: o.prometheusUrl,
      ZIPKIN_URL: o.zipkinUrl ?? `http://${LOOPBACK}:9411`,
      GF_PATHS_PROVISIONING: path.join(o.root, 'observability', 'grafana', 'provisioning'),
      GF_PATHS_DATA: data,
      GF_PATHS_LOGS: path.join(o.dir, 'logs'),
      GF_PATHS_PLUGINS: path.join(o.dir, 'plugins'),
      GF_SERVER_HTTP_ADDR: LOOPBACK,
      GF_SERVER_HTTP_PORT: String(o.port),
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_NEWS_NEWS_FEED_ENABLED: 'false',
    },
    port: o.port,
    url,
    logFile: o.logFile,
    ready: httpProbe(`${url}/api/health`),
    stopSignal: 'SIGTERM',
    prepare: async () => {
      mkdirSync(data, { recursive: true });
    },
    ...(o.tier !== undefined ? { tier: o.tier } : {}),
    ...(o.portHint !== undefined ? { portHint: o.portHint } : {}),
  };
}
