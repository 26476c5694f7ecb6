/**
 * The memory a running platform takes, as `npm run bench -- footprint`
 * (local/bench/footprint.bench.ts) reports it: the proportional set size of
 * every process below the supervisor, each named after the supervised process
 * it belongs to (PostgreSQL's backends and helpers under their `pg-<service>`).
 *
 * PSS, not RSS: a page shared by several processes (Node's binary in every
 * Node process, PostgreSQL's shared buffers in every backend) counts once in
 * total, split among them, so the sum is what the platform really takes. RSS
 * would count the shared buffers once per backend. A page shared with a
 * process outside the platform (another Node on the machine) is split with it
 * too, so the sum moves a little with what else runs. Linux only (/proc).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { ProcessKind, ProcessStatus } from './managed-process.ts';
import { descendantsOf, procStats } from './stale.ts';

/** The `Pss:` line of /proc/<pid>/smaps_rollup in KiB; undefined when the process is gone or not ours to read. */
export function pssKiB(pid: number): number | undefined {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessMemory {
  pid: number;
  /** The supervised process it belongs to, or `supervisor`. */
  group: string;
  kind: ProcessKind | 'supervisor';
  /** What this process is within its group: the group itself, or e.g. `checkpointer`, `backend orders idle`. */
  role: string;
  node: boolean;
  /** Undefined when it could not be read (it exited meanwhile). */
  pssKiB: number | undefined;
}

/** Grafana and a trace backend are reported apart from the platform's total (the footprint target leaves them out). */
export function countedApart(m: Pick<ProcessMemory, 'kind' | 'group'>): boolean {
  return m.kind === 'grafana' || m.kind === 'zipkin' || /zipkin|jaeger|tempo/.test(m.group);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function isNode(pid: number): boolean {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)).startsWith('node');
  } catch {
    return commandLine(pid).split(' ')[0]?.endsWith('node') ?? false;
  }
}

/** PostgreSQL names its processes `postgres: <what>`; a backend's `<what>` is `user database host(port) state`. */
function roleOf(pid: number): string {
  const cmd = commandLine(pid);
  if (!cmd.startsWith('postgres: ')) return path.basename(cmd.split(' ')[0] ?? '') || '?';
  const what = cmd.slice('postgres: '.length).trim();
  const backend = /^(\S+) (\S+) \S+\(\d+\) (.*)$/.exec(what);
  return backend ? `backend ${backend[2]} ${backend[3]}` : what;
}

/**
 * Every live process below `supervisorPid` with its PSS, grouped by the
 * supervised process (from the control API's status) it descends from.
 */
export function platformMemory(supervisorPid: number, processes: readonly ProcessStatus[]): ProcessMemory[] {
  const supervised = new Map(
    processes.filter((p) => p.pid !== undefined).map((p) => [p.pid as number, p] as const),
  );
  const parent = new Map(procStats().map((s) => [s.pid, s.ppid]));
  return descendantsOf(supervisorPid).map((pid) => {
    let leader = pid;
    for (let i = 0; i < 64 && leader !== supervisorPid && !supervised.has(leader); i++) {
      leader = parent.get(leader) ?? supervisorPid;
    }
    const owner = supervised.get(leader);
    const group = owner?.name ?? 'supervisor';
    // A supervised process itself is named by its kind (service, gateway, …);
    // the supervisor process also serves the control API and the fault controller.
    const role = !owner
      ? pid === leader
        ? 'supervisor, control API, fault controller'
        : roleOf(pid)
      : pid !== leader
        ? roleOf(pid)
        : owner.kind === 'postgres'
          ? 'postmaster'
          : owner.kind;
    return {
      pid,
      group,
      kind: owner?.kind ?? 'supervisor',
      role,
      node: isNode(pid),
      pssKiB: pssKiB(pid),
    };
  });
}

/** The sum of PSS in KiB (processes that could not be read count 0). */
export function totalKiB(memory: readonly Pick<ProcessMemory, 'pssKiB'>[]): number {
  return memory.reduce((sum, m) => sum + (m.pssKiB ?? 0), 0);
}

export function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}
