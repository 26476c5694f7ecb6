import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalError } from '../src/errors.ts';
import { clearStalePostmasterPid } from '../src/postgres.ts';
import { processCommandLine } from '../src/stale.ts';
import { type RunState, recoverStaleRun, stateFile, writeState } from '../src/state.ts';

function deadPid(): number {
  // A pid that cannot be running: above Linux's largest pid_max (4194304).
  return 2 ** 22 + 12_345;
}

describe('stale run recovery', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bw-stale-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('removes a postmaster.pid whose process is gone and says so', () => {
    const data = path.join(dir, 'pg-a', 'data');
    mkdirSync(data, { recursive: true });
    const pidFile = path.join(data, 'postmaster.pid');
    writeFileSync(pidFile, `${deadPid()}\n${data}\n`);
    expect(clearStalePostmasterPid(data)).toBe(`removed stale ${pidFile} (pid ${deadPid()} is gone)`);
    expect(existsSync(pidFile)).toBe(false);
    expect(clearStalePostmasterPid(data)).toBeUndefined();
  });

  it('refuses a postmaster.pid that a live postgres of that folder still owns', async () => {
    const data = path.join(dir, 'pg-b', 'data');
    mkdirSync(data, { recursive: true });
    // A live process whose command line looks like that folder's postmaster.
    const impostor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'postgres', '-D', data], {
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 5_000;
      while (!processCommandLine(impostor.pid as number)?.includes(data) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      writeFileSync(path.join(data, 'postmaster.pid'), `${impostor.pid}\n${data}\n`);
      const err = (() => {
        try {
          clearStalePostmasterPid(data);
        } catch (e) {
          return e;
        }
      })();
      expect(isLocalError(err, 'LOCAL_ERR_ALREADY_RUNNING')).toBe(true);
      expect((err as Error).message).toBe(
        `PostgreSQL data folder ${data} is in use by pid ${impostor.pid}: stop that run (node local/src/cli.ts stop) or kill ${impostor.pid}, then start again`,
      );
      expect(existsSync(path.join(data, 'postmaster.pid'))).toBe(true);
    } finally {
      impostor.kill('SIGKILL');
    }
  });

  it('removes an unreadable state file', async () => {
    const runDir = path.join(dir, 'run-unreadable');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(stateFile(runDir), '{ not json');
    expect(await recoverStaleRun(runDir)).toBe(`recovered: removed unreadable ${stateFile(runDir)}`);
    expect(existsSync(stateFile(runDir))).toBe(false);
  });

  it('refuses to start over a live supervisor', async () => {
    const runDir = path.join(dir, 'run-live');
    const state: RunState = {
      version: 1,
      supervisorPid: process.pid,
      supervisorCommand: processCommandLine(process.pid) ?? '',
      startedAt: new Date().toISOString(),
      root: dir,
      runDir,
      control: { url: 'http://127.0.0.1:1', token: 'x'.repeat(32) },
      adminToken: 'y'.repeat(32),
      processes: [],
      notes: [],
    };
    writeState(runDir, state);
    const err = await recoverStaleRun(runDir).catch((e: unknown) => e);
    expect(isLocalError(err, 'LOCAL_ERR_ALREADY_RUNNING')).toBe(true);
    expect(existsSync(stateFile(runDir))).toBe(true);
    // a cleanly stopped run is not stale and not live: nothing to do
    writeState(runDir, { ...state, stoppedAt: new Date().toISOString() });
    expect(await recoverStaleRun(runDir)).toBeUndefined();
  });

  it('ignores a recorded pid now used by a process that is not ours', async () => {
    const runDir = path.join(dir, 'run-reused');
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      writeState(runDir, {
        version: 1,
        supervisorPid: deadPid(),
        supervisorCommand: 'node local/src/cli.ts up',
        startedAt: new Date().toISOString(),
        root: dir,
        runDir,
        control: { url: 'http://127.0.0.1:1', token: 'x'.repeat(32) },
        adminToken: 'y'.repeat(32),
        processes: [
          {
            name: 'redis',
            kind: 'redis',
            state: 'running',
            pid: stranger.pid as number,
            starts: 1,
            logFile: '/dev/null',
            command: '/usr/bin/redis-server',
            executable: '/usr/bin/redis-server',
          },
        ],
        notes: [],
      });
      const message = await recoverStaleRun(runDir);
      expect(message).toMatch(/no leftover processes/);
      expect(processCommandLine(stranger.pid as number)).toBeDefined();
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
