/**
 * Discovery for the local platform: one endpoints file per service,
 * `<run>/endpoints/<service>.json`, in the format the mesh's
 * `watchEndpointsFile` reads (`{ "endpoints": [{ "url", "ready" }] }`) — what
 * a Kubernetes Service's EndpointSlice is to kube-proxy, or file-based EDS to
 * Envoy. An instance is listed `ready` while it runs, its readiness probe
 * passes (re-checked every second; two failures in a row take it out, as a
 * Kubernetes readiness probe's failureThreshold does) and it is not draining. Files are written whole to a temp file and renamed, and only
 * when their content changes.
 */
import { writeFileAtomic } from './atomic-write.ts';
import type { ManagedProcess } from './managed-process.ts';
import { endpointsFile } from './platform.ts';
import type { Supervisor } from './supervisor.ts';

const PROBE_EVERY_MS = 1_000;
const PROBE_TIMEOUT_MS = 800; // under the interval, so probes never pile up
const FAILURE_THRESHOLD = 2;

export class EndpointsFiles {
  readonly #runDir: string;
  readonly #supervisor: Supervisor;
  readonly #draining = new Set<string>();
  /** Instances still listed ready after they stopped, until a time (performance.now()): `listAfterStop`. */
  readonly #lagging = new Map<string, number>();
  /** Probe failures in a row per running instance (start() has just passed one). */
  readonly #failures = new Map<string, number>();
  readonly #written = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  readonly #subscription: { dispose(): void };
  #probing = false;

  constructor(runDir: string, supervisor: Supervisor) {
    this.#runDir = runDir;
    this.#supervisor = supervisor;
    this.#subscription = supervisor.onChange((status) => {
      if (status.state !== 'running') this.#failures.delete(status.name);
      this.write();
    });
    this.#timer = setInterval(() => void this.#probe(), PROBE_EVERY_MS);
    this.#timer.unref();
    this.write();
  }

  /** Service processes grouped by service (HTTP services only: the gateways share one port). */
  #services(): Map<string, ManagedProcess[]> {
    const out = new Map<string, ManagedProcess[]>();
    for (const p of this.#supervisor.processes) {
      if (p.spec.kind !== 'service' || !p.spec.service || !p.spec.url) continue;
      out.set(p.spec.service, [...(out.get(p.spec.service) ?? []), p]);
    }
    return out;
  }

  #ready(p: ManagedProcess): boolean {
    const lagUntil = this.#lagging.get(p.name);
    if (lagUntil !== undefined && performance.now() < lagUntil) return true;
    return (
      p.state === 'running' &&
      !this.#draining.has(p.name) &&
      (this.#failures.get(p.name) ?? 0) < FAILURE_THRESHOLD
    );
  }

  /** Rewrites every file whose content changed. */
  write(): void {
    for (const [service, instances] of this.#services()) {
      const text = `${JSON.stringify(
        { endpoints: instances.map((p) => ({ url: p.spec.url as string, ready: this.#ready(p) })) },
        null,
        2,
      )}\n`;
      if (this.#written.get(service) === text) continue;
      writeFileAtomic(endpointsFile(this.#runDir, service), text);
      this.#written.set(service, text);
    }
  }

  /** Takes an instance out of rotation (listed, not ready) before it is stopped. */
  drain(name: string): void {
    this.#draining.add(name);
    this.write();
  }

  /**
   * Keeps an instance listed ready for `ms` whatever happens to it — what
   * callers see of a Pod stopped without readiness gating or a preStop hook:
   * its endpoint leaves the EndpointSlice, and every proxy's copy of it, only
   * some time after the process got its signal (the rollout's no-drain
   * variant; the drain exists to close this window).
   */
  listAfterStop(name: string, ms: number): void {
    this.#lagging.set(name, performance.now() + ms);
    setTimeout(() => this.write(), ms).unref();
  }

  /** Forgets a removed instance's drain mark. */
  forget(name: string): void {
    this.#draining.delete(name);
    this.#lagging.delete(name);
    this.#failures.delete(name);
  }

  async #probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      const running = [...this.#services().values()].flat().filter((p) => p.state === 'running');
      await Promise.all(
        running.map(async (p) => {
          const ok = await p.spec.ready.check(AbortSignal.timeout(PROBE_TIMEOUT_MS));
          if (p.state === 'running')
            this.#failures.set(p.name, ok ? 0 : (this.#failures.get(p.name) ?? 0) + 1);
        }),
      );
      this.write();
    } finally {
      this.#probing = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#subscription.dispose();
  }
}
