/**
 * Process inspection for recovering a killed run: is a pid alive, what is its
 * command line (so we only ever kill what is ours), which pids are in a
 * process group. Linux reads /proc; elsewhere `ps` answers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive and not a zombie (a killed child whose parent died may stay a zombie where nothing reaps it). */
export function pidRunning(pid: number): boolean {
  return pidAlive(pid) && !isZombie(pid);
}

const hasProc = existsSync('/proc/self/stat');

function isZombie(pid: number): boolean {
  if (!hasProc) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The command line of a live pid (arguments joined by spaces), or undefined when it is gone or a zombie. */
export function processCommandLine(pid: number): string | undefined {
  if (!pidAlive(pid) || isZombie(pid)) return undefined;
  if (hasProc) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      return undefined;
    }
  }
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, T, Z, … */
  state: string;
  ppid: number;
  pgrp: number;
}

/** Every process /proc shows (Linux only; empty elsewhere), zombies included. */
export function procStats(): ProcStat[] {
  if (!hasProc) return [];
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the command name in parentheses: state ppid pgrp …
      const [state = '', ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(entry), state, ppid: Number(ppid), pgrp: Number(pgrp) });
    } catch {
      // raced with its exit
    }
  }
  return stats;
}

/** `root` and every live, non-zombie process below it (children, their children, …). Linux only. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let rootAlive = false;
  for (const s of procStats()) {
    if (s.state === 'Z') continue;
    if (s.pid === root) rootAlive = true;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  }
  if (!rootAlive) return [];
  const found = [root];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i] as number) ?? []));
  return found;
}

/** Live, non-zombie pids whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  if (hasProc)
    return procStats()
      .filter((s) => s.pgrp === pgid && s.state !== 'Z')
      .map((s) => s.pid);
  const members: number[] = [];
  try {
    const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [pid, group, stat] = line.trim().split(/\s+/);
      if (Number(group) === pgid && !stat?.startsWith('Z')) members.push(Number(pid));
    }
  } catch {
    // no ps: nothing more we can learn
  }
  return members;
}

/**
 * SIGKILLs what is left of a process group we started earlier (leader pid =
 * group id). When the leader still lives its command line must start with
 * `command` (else the pid was reused by someone else's process and we leave
 * it). When the leader is gone, the remaining members are ours: the kernel
 * never hands out a pid that is still in use as a process group id.
 * Returns the pids signalled.
 */
export function killLeftoverGroup(leader: number, command: string): number[] {
  if (!Number.isInteger(leader) || leader <= 0) return [];
  const cmdline = processCommandLine(leader);
  if (cmdline !== undefined && !cmdline.startsWith(command)) return [];
  const members = groupMembers(leader);
  for (const pid of members) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return members;
}
