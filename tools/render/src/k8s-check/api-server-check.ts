/**
 * Every overlay applied to a real kube-apiserver with kube-controller-manager
 * and no nodes: the server's admission, defaulting, schema and CEL
 * validation see each object as a cluster would, and the controllers turn
 * the workloads into Pod objects. Shared by the test
 * (tools/render/test/k8s/api-server.test.ts) and `npm run k8s:check` (cli.ts).
 *
 * Per overlay, in order, as `kubectl apply --server-side -k` would meet them
 * on a cluster that has the CRDs:
 *   1. namespaces and CRDs: server dry run, then applied (the rest needs them);
 *   2. every other object: server dry run;
 *   3. every other object: applied for real, so defaults and validation of a
 *      stored object run;
 *   4. the rollout: what the controllers made of it (rollout.ts);
 * then the overlay's objects are deleted (namespaces stay) and their Pods
 * collected, so the next overlay starts from the same empty namespaces.
 */
import path from 'node:path';
import { type KubeApiServerHandle, startKubeApiServer } from '@breakwater/local/harness';
import { findKubeTool } from '@breakwater/local/kube-apiserver';
import { crdFiles } from './crds.ts';
import { deleteObjects, type KubectlTarget, kubectl, type Refusal, serverSideApply } from './kubectl.ts';
import { build, type Manifest } from './manifests.ts';
import { checkRollout, namespacesOf, ROLLOUT_CONTROLLERS, waitCollected } from './rollout.ts';

export type Step = 'namespaces and CRDs' | 'dry run' | 'apply' | 'rollout';

export interface StepResult {
  readonly step: Step;
  readonly objects: number;
  readonly refused: readonly Refusal[];
}

export interface OverlayResult {
  readonly overlay: string;
  readonly objects: number;
  /** Pods the controllers created from it (none run them: there are no nodes). */
  readonly pods: number;
  readonly steps: readonly StepResult[];
}

const FIRST = new Set(['Namespace', 'CustomResourceDefinition']);

/**
 * Namespaces an overlay puts objects into but does not own: the install of
 * the project it extends creates them (cert-manager's Helm chart makes
 * `cert-manager`, where a ClusterIssuer's CA Secret must live), so the check
 * creates them as that install would, and an overlay never lists them.
 */
export const INSTALLED_NAMESPACES: readonly string[] = ['cert-manager'];

export class ApiServerCheck {
  readonly server: KubeApiServerHandle;
  readonly target: KubectlTarget;
  /** The CRD files installed, as module@version/path. */
  readonly crds: readonly string[];

  private constructor(server: KubeApiServerHandle, target: KubectlTarget, crds: readonly string[]) {
    this.server = server;
    this.target = target;
    this.crds = crds;
  }

  /** Starts etcd + kube-apiserver and installs the CRDs (waits until they are served). */
  static async start(): Promise<ApiServerCheck> {
    const [started, found] = await Promise.allSettled([startKubeApiServer(), crdFiles()]);
    if (started.status === 'rejected') throw started.reason;
    const server = started.value;
    try {
      if (found.status === 'rejected') throw found.reason;
      const files = found.value;
      await server.startControllerManager(ROLLOUT_CONTROLLERS);
      const target: KubectlTarget = {
        kubectl: findKubeTool('kubectl'),
        kubeconfig: server.kubeconfig,
        cacheDir: path.join(path.dirname(server.kubeconfig), 'kubectl-cache'),
      };
      const applied = await kubectl(target, [
        'apply',
        '--server-side',
        '--field-manager=breakwater-check',
        ...files.flatMap((f) => ['-f', f.file]),
      ]);
      if (applied.code !== 0) throw new Error(`installing the CRDs failed: ${applied.stderr.trim()}`);
      const served = await kubectl(target, [
        'wait',
        '--for=condition=Established',
        'crd',
        '--all',
        '--timeout=120s',
      ]);
      if (served.code !== 0) throw new Error(`the CRDs were not established: ${served.stderr.trim()}`);
      for (const ns of INSTALLED_NAMESPACES) {
        const made = await kubectl(target, ['create', 'namespace', ns]);
        if (made.code !== 0) throw new Error(`creating namespace ${ns} failed: ${made.stderr.trim()}`);
      }
      return new ApiServerCheck(
        server,
        target,
        files.map((f) => f.source),
      );
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  /** Builds `k8s/overlays/<overlay>` with kustomize and applies it (steps above), then removes it. */
  async checkOverlay(overlay: string): Promise<OverlayResult> {
    const objs = build(`k8s/overlays/${overlay}`);
    const first = objs.filter((o) => FIRST.has(o.kind));
    const rest = objs.filter((o) => !FIRST.has(o.kind));
    const steps: StepResult[] = [];
    const step = async (name: Step, these: Manifest[], run: () => Promise<readonly Refusal[]>) => {
      steps.push({ step: name, objects: these.length, refused: await run() });
    };
    await step('namespaces and CRDs', first, async () => [
      ...(await serverSideApply(this.target, first, { dryRun: true })),
      ...(await serverSideApply(this.target, first, { dryRun: false })),
    ]);
    await step('dry run', rest, () => serverSideApply(this.target, rest, { dryRun: true }));
    await step('apply', rest, () => serverSideApply(this.target, rest, { dryRun: false }));
    let pods = 0;
    await step('rollout', rest, async () => {
      const rollout = await checkRollout(this.target, rest);
      pods = rollout.pods;
      return rollout.problems;
    });
    await deleteObjects(this.target, rest);
    await waitCollected(this.target, namespacesOf(objs));
    return { overlay, objects: objs.length, pods, steps };
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

/** `Kind namespace/name: message` lines of one step, for assertions and reports. */
export function refusals(result: OverlayResult, step: Step): string[] {
  return (result.steps.find((s) => s.step === step)?.refused ?? []).map((r) => `${r.object}: ${r.message}`);
}
