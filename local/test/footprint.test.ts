import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformMemory, pssKiB, totalKiB } from '../src/footprint.ts';
import type { ProcessStatus } from '../src/managed-process.ts';
import { descendantsOf } from '../src/stale.ts';

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

describe.runIf(process.platform === 'linux')('footprint: PSS of a process tree', () => {
  let shell: ChildProcess;
  let sleeper: number;

  beforeAll(async () => {
    // A supervised process with a child of its own, as PostgreSQL has its backends.
    shell = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    sleeper = await new Promise<number>((resolve) => shell.stdout?.once('data', (d) => resolve(Number(d))));
  });
  afterAll(() => {
    process.kill(sleeper, 'SIGKILL');
    shell.kill('SIGKILL');
  });

  it("reads this process's PSS: more than nothing, at most its RSS", () => {
    const pss = pssKiB(process.pid);
    expect(pss).toBeGreaterThan(1024);
    expect(pss).toBeLessThanOrEqual(rssKiB(process.pid));
    expect(pssKiB(2 ** 22 + 1)).toBeUndefined(); // above any pid_max: no such process
  });

  it('finds every process below the supervisor and names it after its supervised ancestor', () => {
    expect(descendantsOf(process.pid)).toEqual(expect.arrayContaining([process.pid, shell.pid, sleeper]));
    const status = { name: 'pg-demo', kind: 'postgres', pid: shell.pid } as ProcessStatus;
    const memory = platformMemory(process.pid, [status]);
    const of = (pid: number | undefined) => memory.find((m) => m.pid === pid);
    expect(of(process.pid)).toMatchObject({ group: 'supervisor', kind: 'supervisor', node: true });
    expect(of(shell.pid)).toMatchObject({ group: 'pg-demo', role: 'postmaster', node: false });
    expect(of(sleeper)).toMatchObject({ group: 'pg-demo', role: 'sleep', node: false });
    expect(totalKiB(memory)).toBeGreaterThanOrEqual(of(process.pid)?.pssKiB ?? Number.POSITIVE_INFINITY);
  });
});
