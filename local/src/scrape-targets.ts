/**
 * What Prometheus scrapes: one file_sd target file,
 * `<run>/prometheus/targets/instances.json`, listing every service and
 * gateway process the supervisor holds — each with its own target group, so
 * `job` is its service and `instance` and `pod` are its process name
 * (catalog-2), as on a cluster a pod is labelled by the Kubernetes service
 * discovery. The supervisor rewrites it whenever a process is added or
 * removed (`scale`, `--replicas`); Prometheus re-reads file_sd files on
 * change, so a new instance is scraped and a removed one dropped without a
 * restart or a reload. A process that is merely down stays listed: its
 * `up == 0` is what the InstanceDown alert is for.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import type { Supervisor } from './supervisor.ts';

/** The file_sd folder the local Prometheus reads (`*.json`; the fault controller writes there too). */
export function scrapeTargetsDir(runDir: string): string {
  return path.join(runDir, 'prometheus', 'targets');
}

export function instancesTargetsFile(runDir: string): string {
  return path.join(scrapeTargetsDir(runDir), 'instances.json');
}

/** A Prometheus file_sd target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** One group per process that exports metrics, in the given order. */
export function targetGroups(specs: readonly ProcessSpec[]): TargetGroup[] {
  return specs.flatMap((spec) =>
    spec.metricsPort === undefined
      ? []
      : [
          {
            targets: [`${LOOPBACK}:${spec.metricsPort}`],
            labels: {
              job: spec.service ?? spec.name,
              instance: spec.name,
              pod: spec.name,
              // A service under mTLS serves /metrics on its https port: Prometheus scrapes it
              // with its own certificate (prometheus.ts tls_config).
              ...(spec.url?.startsWith('https:') && spec.metricsPort === spec.port
                ? { __scheme__: 'https' }
                : {}),
            },
          },
        ],
  );
}

const targetsText = (specs: readonly ProcessSpec[]) => `${JSON.stringify(targetGroups(specs), null, 2)}\n`;

/**
 * Writes the platform's initial targets unless the file is there already
 * (a ScrapeTargetsFile keeps it current): Prometheus started by a bare
 * Supervisor, as some tests do, still scrapes every process.
 */
export function writeInitialTargets(runDir: string, specs: readonly ProcessSpec[]): void {
  const file = instancesTargetsFile(runDir);
  if (!existsSync(file)) writeFileAtomic(file, targetsText(specs));
}

export class ScrapeTargetsFile {
  readonly #file: string;
  readonly #supervisor: Supervisor;
  readonly #subscription: { dispose(): void };
  #written = '';

  constructor(runDir: string, supervisor: Supervisor) {
    this.#file = instancesTargetsFile(runDir);
    this.#supervisor = supervisor;
    // Every change is cheap to check: the file is rewritten only when the process list changed.
    this.#subscription = supervisor.onChange(() => this.write());
    this.write();
  }

  write(): void {
    const text = targetsText(this.#supervisor.processes.map((p) => p.spec));
    if (text === this.#written) return;
    writeFileAtomic(this.#file, text);
    this.#written = text;
  }

  close(): void {
    this.#subscription.dispose();
  }
}
