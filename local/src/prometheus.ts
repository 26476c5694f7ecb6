/**
 * The local Prometheus: a config generated from the process list (scrape
 * every service's /metrics, and each gateway process's on its own admin port) plus the repo's rule files,
 * and the prometheus process itself with the remote-write receiver (k6
 * pushes its metrics there) and exemplar storage on.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { which } from './binaries.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { httpProbe } from './readiness.ts';

export interface ScrapeTarget {
  job: string;
  port: number;
  labels?: Record<string, string>;
  /** Scraped over mTLS with Prometheus's own certificate (PrometheusOptions.tls). */
  https?: boolean;
}

/** Prometheus's client certificate for mTLS scrapes (a folder the CA renews; Prometheus re-reads changed files). */
export interface ScrapeTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface PrometheusOptions {
  command: string;
  root: string;
  /** `<run dir>/prometheus`: config and TSDB. */
  dir: string;
  port: number;
  logFile: string;
  targets: readonly ScrapeTarget[];
  tier?: number;
  portHint?: string;
  /** Told when the rule files fail `promtool check rules` and are left out. */
  warn?: (message: string) => void;
  /** mTLS scrapes of targets marked `https`. */
  tls?: ScrapeTls;
}

/** Rule files under observability/prometheus/rules that promtool accepts (all or none). */
function ruleFiles(root: string, warn: (m: string) => void): string[] {
  const dir = path.join(root, 'observability', 'prometheus', 'rules');
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
  if (files.length === 0) return [];
  const promtool = which('promtool');
  if (!promtool) return files;
  const check = spawnSync(promtool, ['check', 'rules', ...files], { encoding: 'utf8', timeout: 20_000 });
  if (check.status !== 0) {
    const why = `${check.stdout}${check.stderr}`.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
    warn(`prometheus: rule files left out, promtool check rules failed: ${why}`);
    return [];
  }
  return files;
}

export function prometheusConfig(
  targets: readonly ScrapeTarget[],
  rules: readonly string[],
  selfPort: number,
  /** Folder of file_sd target files (`*.json`) for targets that appear at run time (the fault controller). */
  fileSdDir?: string,
  tls?: ScrapeTls,
): string {
  // One static config per distinct label set within a job (e.g. the gateway's
  // processes, each with its own `instance`); a target listed twice is scraped once.
  const jobs = new Map<string, { targets: string[]; labels: Record<string, string> }[]>();
  const httpsJobs = new Set<string>();
  for (const t of targets) {
    const groups = jobs.get(t.job) ?? [];
    const labels = { ...t.labels };
    const key = JSON.stringify(labels);
    let group = groups.find((g) => JSON.stringify(g.labels) === key);
    if (!group) {
      group = { targets: [], labels };
      groups.push(group);
    }
    const target = `${LOOPBACK}:${t.port}`;
    if (!groups.some((g) => g.targets.includes(target))) group.targets.push(target);
    jobs.set(t.job, groups);
    if (t.https) httpsJobs.add(t.job);
  }
  const config = {
    global: {
      scrape_interval: '5s',
      evaluation_interval: '5s',
      external_labels: { platform: 'breakwater-local' },
    },
    ...(rules.length ? { rule_files: [...rules] } : {}),
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: [`${LOOPBACK}:${selfPort}`] }] },
      ...[...jobs.entries()].map(([job, groups]) => ({
        job_name: job,
        metrics_path: '/metrics',
        // mTLS as Istio documents for Prometheus: its own certificate, the mesh CA,
        // and no host name check (mesh certificates carry a SPIFFE id, not a host).
        ...(tls && httpsJobs.has(job)
          ? {
              scheme: 'https',
              tls_config: {
                ca_file: tls.caFile,
                cert_file: tls.certFile,
                key_file: tls.keyFile,
                insecure_skip_verify: true,
              },
            }
          : {}),
        // No `service` target label: every process already exports it as a
        // default label, and a second one would arrive as `exported_service`.
        static_configs: groups
          .filter((g) => g.targets.length > 0)
          .map(({ targets: ts, labels }) => ({
            targets: ts,
            ...(Object.keys(labels).length ? { labels } : {}),
          })),
      })),
      ...(fileSdDir
        ? [
            {
              job_name: 'run-time',
              file_sd_configs: [{ files: [path.join(fileSdDir, '*.json')], refresh_interval: '5s' }],
            },
          ]
        : []),
    ],
  };
  return `# Generated by local/src/prometheus.ts from the process list; rewritten on every start.\n${stringify(config)}`;
}

export function prometheusSpec(options: PrometheusOptions): ProcessSpec {
  const configFile = path.join(options.dir, 'prometheus.yml');
  const dataDir = path.join(options.dir, 'data');
  const url = `http://${LOOPBACK}:${options.port}`;
  return {
    name: 'prometheus',
    kind: 'prometheus',
    command: options.command,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=${LOOPBACK}:${options.port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=exemplar-storage',
    ],
    port: options.port,
    url,
    logFile: options.logFile,
    ready: httpProbe(`${url}/-/ready`),
    stopSignal: 'SIGTERM',
    prepare: async () => {
      mkdirSync(dataDir, { recursive: true });
      const rules = ruleFiles(options.root, options.warn ?? (() => {}));
      writeFileSync(
        configFile,
        prometheusConfig(
          options.targets,
          rules,
          options.port,
          path.join(options.dir, 'targets'),
          options.tls,
        ),
      );
    },
    ...(options.tier !== undefined ? { tier: options.tier } : {}),
    ...(options.portHint !== undefined ? { portHint: options.portHint } : {}),
  };
}
