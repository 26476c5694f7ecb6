/**
 * End to end: `node local/src/cli.ts up` as a real child process with Redis
 * and one PostgreSQL, driven by the CLI like a person (or a drill) would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, isPortFree } from '../src/ports.ts';
import { groupMembers, pidAlive, pidRunning } from '../src/stale.ts';
import type { RunState } from '../src/state.ts';
import { cli, startUp, type UpRun } from './fixtures/up-process.ts';

const CLI = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const ONLY = ['--only', 'redis,pg-catalog'];

/** Live processes whose command line mentions `dir` (redis --dir, postgres -D under the run folder). */
function processesMentioning(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir) && pidRunning(Number(e));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function readRunState(runDir: string): RunState {
  return JSON.parse(readFileSync(path.join(runDir, 'state.json'), 'utf8')) as RunState;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Generous: each step spawns node, and the suite shares 2 cores with every other test file.
describe('cli up (end to end)', { timeout: 90_000 }, () => {
  let runDir: string;
  let common: string[];
  const runs: UpRun[] = [];

  beforeAll(() => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'bw-cli-'));
    common = ['--run-dir', runDir];
  });

  afterAll(async () => {
    for (const run of runs) run.child.kill('SIGKILL');
    // Whatever a failed test left behind: the state file knows the groups.
    try {
      for (const p of readRunState(runDir).processes) if (p.pid) process.kill(-p.pid, 'SIGKILL');
    } catch {
      // nothing left
    }
    rmSync(runDir, { recursive: true, force: true });
  });

  it('brings up Redis and PostgreSQL, prints the table, and acts on one process by name', async () => {
    const run = await startUp([...common, ...ONLY]);
    runs.push(run);
    expect(run.output()).toMatch(/NAME\s+STATE\s+PID\s+PORT\s+URL/);
    expect(run.output()).toMatch(/redis\s+running\s+\d+\s+\d+\s+redis:\/\/127\.0\.0\.1:\d+/);
    expect(run.output()).toMatch(
      /pg-catalog\s+running\s+\d+\s+\d+\s+postgres:\/\/catalog:\*\*\*@127\.0\.0\.1:\d+\/catalog/,
    );

    const state = readRunState(runDir);
    expect(state.supervisorPid).toBe(run.child.pid);
    expect(statSync(path.join(runDir, 'state.json')).mode & 0o777).toBe(0o600); // it holds the tokens
    const pgPid = state.processes.find((p) => p.name === 'pg-catalog')?.pid as number;

    const killed = await cli(['kill', 'redis', ...common]);
    expect(killed).toMatchObject({ code: 0, stderr: '' });
    const status = await cli(['status', ...common]);
    expect(status.stdout).toMatch(/redis\s+down \(SIGKILL\)\s+-/);
    expect(status.stdout).toMatch(new RegExp(`pg-catalog\\s+running\\s+${pgPid}`));
    expect(pidAlive(pgPid)).toBe(true);

    const restarted = await cli(['restart', 'redis', ...common]);
    expect(restarted.code).toBe(0);
    expect(restarted.stdout).toMatch(/^redis\s+running\s+\d+/);

    const paused = await cli(['pause', 'pg-catalog', ...common]);
    expect(paused.stdout).toMatch(/^pg-catalog\s+paused/);
    expect((await cli(['resume', 'pg-catalog', ...common])).stdout).toMatch(/^pg-catalog\s+running/);

    const logs = await cli(['logs', 'pg-catalog', '-n', '2', ...common]);
    expect(logs.code).toBe(0);
    expect(logs.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('logs -f follows a process log as it grows', async () => {
    const follower = spawn(process.execPath, [CLI, 'logs', 'redis', '-n', '0', '-f', ...common], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follower.stdout?.on('data', (c: Buffer) => {
      followed += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    try {
      // restart until the follower has surely attached (bounded: 5 tries)
      for (let i = 0; i < 5 && !followed.includes('breakwater starting redis'); i++) {
        await cli(['restart', 'redis', ...common]);
        await waitFor(
          'the restart marker in the followed log',
          () => followed.includes('breakwater starting redis'),
          2_000,
        ).catch(() => {});
      }
      expect(followed).toContain('breakwater starting redis');
    } finally {
      follower.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('answers bad input with one line that says what to do', async () => {
    const unknown = await cli(['kill', 'nope', ...common]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('bw-local: error: unknown process "nope": choose one of redis, pg-catalog\n');
    const second = await cli(['up', ...common, ...ONLY]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /^bw-local: error: a Breakwater run is already up in .* \(supervisor pid \d+\): stop it with/,
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    const noName = await cli(['restart', ...common]);
    expect(noName.stderr).toBe(
      'bw-local: error: restart needs a process name: npm run local -- restart <name>\n',
    );
  });

  it('recovers a run whose supervisor was SIGKILLed: kills its leftovers and starts again', async () => {
    const first = runs[0] as UpRun;
    const old = readRunState(runDir);
    const oldPids = old.processes.map((p) => p.pid as number);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(oldPids.every(pidAlive)).toBe(true); // children outlive a SIGKILLed supervisor…
    const status = await cli(['status', ...common]);
    expect(status.stdout).toMatch(/is gone without stopping: "npm start" recovers/);

    const second = await startUp([...common, ...ONLY]); // …and the next up cleans them up
    runs.push(second);
    expect(second.output()).toMatch(
      /^recovered a killed run \(supervisor pid \d+ is gone\): killed leftover redis \(pid \d+\), pg-catalog \(pid \d+\); removed its stale state file$/m,
    );
    expect(second.output()).toMatch(/pg-catalog: removed stale .*postmaster\.pid/);
    for (const pid of oldPids) expect(pidRunning(pid)).toBe(false);
  });

  it('Ctrl-C (SIGINT) stops everything: no child pid alive, every port free', async () => {
    const run = runs[1] as UpRun;
    const state = readRunState(runDir);
    const groups = state.processes.map((p) => p.pid as number);
    const ports = state.processes.map((p) => p.port as number);
    expect(groups.every(pidAlive)).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('stopped: no process left running');
    for (const pgid of groups) expect(groupMembers(pgid)).toEqual([]);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
    const status = await cli(['status', ...common]);
    expect(status.stdout).toMatch(/the last run stopped at/);
    expect(status.stdout).toMatch(/redis\s+stopped\s+-/);
  });

  it('stop without a name stops the whole run', async () => {
    const run = await startUp([...common, '--only', 'redis']);
    runs.push(run);
    const redisPid = readRunState(runDir).processes[0]?.pid as number;
    const stopped = await cli(['stop', ...common]);
    expect(stopped).toMatchObject({ code: 0, stdout: 'stopped the whole run\n' });
    expect(await run.exited).toBe(0);
    await waitFor('redis to be gone', () => !pidAlive(redisPid));
  });

  /** Runs `up` with `args(port)` while something else listens on a free port; the CLI's answer. */
  async function upWithPortTaken(args: (port: number) => string[]) {
    const [port] = (await freePorts(1)) as [number];
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port }, resolve));
    try {
      return { port, res: await cli(['up', ...common, ...args(port)]) };
    } finally {
      blocker.close();
    }
  }

  it('refuses a port already taken before starting anything', async () => {
    const { port, res } = await upWithPortTaken((p) => ['--only', 'redis', '--port-base', String(p)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bw-local: error: port ${port} is taken: stop what uses it, or pass --port-base N\n`,
    );
  });

  it('Ctrl-C during start-up stops what was started and leaves nothing behind', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'bw-cli-int-'));
    try {
      const child = spawn(process.execPath, [CLI, 'up', '--run-dir', fresh, ...ONLY], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout?.on('data', (c: Buffer) => {
        text += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitFor('pg-catalog to be starting', () => text.includes('pg-catalog starting'), 30_000);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(text).toContain('stopped: no process left running');
      await waitFor('no process using the run folder', () => processesMentioning(fresh).length === 0, 5_000);
      expect(processesMentioning(fresh)).toEqual([]);
    } finally {
      for (const pid of processesMentioning(fresh)) process.kill(pid, 'SIGKILL');
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('refuses a taken gateway port, naming the flag to pass', async () => {
    const { port, res } = await upWithPortTaken((p) => ['--only', 'gateway-1', '--gateway-port', String(p)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `bw-local: error: port ${port} is taken: stop what uses it or pass --gateway-port N\n`,
    );
  });

  it('names the package to install when redis-server is missing', async () => {
    const res = await cli(['up', ...common, '--only', 'redis'], { PATH: path.dirname(process.execPath) });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'bw-local: error: redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)\n',
    );
  });
});
