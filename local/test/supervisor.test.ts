import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlApi } from '../src/control-api.ts';
import { isLocalError } from '../src/errors.ts';
import type { ProcessSpec } from '../src/managed-process.ts';
import { freePorts, isPortFree } from '../src/ports.ts';
import { postgresInstance } from '../src/postgres.ts';
import { httpProbe, type ReadinessProbe } from '../src/readiness.ts';
import { redisSpec } from '../src/redis.ts';
import { groupMembers, pidAlive } from '../src/stale.ts';
import { formatStatusTable } from '../src/status-table.ts';
import { Supervisor } from '../src/supervisor.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'http-service.ts');

function fixtureSpec(
  dir: string,
  name: string,
  port: number,
  mode = 'ok',
  readyTimeoutMs = 10_000,
): ProcessSpec {
  return {
    name,
    kind: 'service',
    command: process.execPath,
    args: [FIXTURE],
    env: { PORT: String(port), FIXTURE_MODE: mode },
    port,
    url: `http://127.0.0.1:${port}`,
    logFile: path.join(dir, 'logs', `${name}.log`),
    ready: httpProbe(`http://127.0.0.1:${port}/health/ready`),
    readyTimeoutMs,
    tier: 1,
  };
}

/** Polls a probe until it passes, up to `timeoutMs` (load on a 2-core machine makes single tries flaky). */
async function eventually(probe: ReadinessProbe, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (await probe.check(AbortSignal.timeout(2_000))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

describe('Supervisor with real Redis, PostgreSQL and an HTTP service', { timeout: 60_000 }, () => {
  let dir: string;
  let supervisor: Supervisor;
  let ports: number[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bw-sup-'));
    ports = await freePorts(3);
    const [redisPort, pgPort, svcPort] = ports as [number, number, number];
    const pg = postgresInstance({
      name: 'pg-catalog',
      dir: path.join(dir, 'pg-catalog'),
      port: pgPort,
      logFile: path.join(dir, 'logs', 'pg-catalog.log'),
      databases: [{ name: 'catalog' }],
    });
    supervisor = new Supervisor([
      redisSpec({
        port: redisPort,
        dir: path.join(dir, 'redis'),
        logFile: path.join(dir, 'logs', 'redis.log'),
      }),
      pg.spec,
      fixtureSpec(dir, 'catalog', svcPort),
    ]);
    await supervisor.startAll();
  });

  afterAll(async () => {
    await supervisor?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts every process and lists it in the status table with state, pid, port and URL', () => {
    const table = formatStatusTable(supervisor.status());
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PID\s+PORT\s+URL$/);
    for (const s of supervisor.status()) {
      expect(s.state).toBe('running');
      expect(pidAlive(s.pid as number)).toBe(true);
      expect(table).toMatch(new RegExp(`${s.name}\\s+running\\s+${s.pid}\\s+${s.port}\\s+\\S+`));
    }
    expect(table).toContain(`http://127.0.0.1:${ports[2]}`);
    expect(table).toContain(`postgres://postgres:***@127.0.0.1:${ports[1]}/postgres`);
  });

  it('kill by name takes one process down, leaves the others running, and restart brings it back', async () => {
    const before = supervisor.get('redis').pid as number;
    await supervisor.act('redis', 'kill');
    const redis = supervisor.get('redis').status();
    expect(redis.state).toBe('down');
    expect(redis.signal).toBe('SIGKILL');
    expect(pidAlive(before)).toBe(false);
    expect(formatStatusTable(supervisor.status())).toMatch(/redis\s+down \(SIGKILL\)\s+-/);
    for (const name of ['pg-catalog', 'catalog']) expect(supervisor.get(name).state).toBe('running');
    const after = await supervisor.act('redis', 'restart');
    expect(after.state).toBe('running');
    expect(after.pid).not.toBe(before);
    expect(await eventually(httpProbe(`http://127.0.0.1:${ports[2]}/health/ready`))).toBe(true);
  });

  it('a process that dies on its own shows down with its signal and is not restarted', async () => {
    const pid = supervisor.get('catalog').pid as number;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while (supervisor.get('catalog').state !== 'down' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(supervisor.get('catalog').status()).toMatchObject({ state: 'down', signal: 'SIGKILL' });
    await supervisor.act('catalog', 'start');
    expect(supervisor.get('catalog').state).toBe('running');
  });

  it('pause stops the service answering and resume brings it back', async () => {
    const probe = httpProbe(`http://127.0.0.1:${ports[2]}/health/ready`);
    await supervisor.act('catalog', 'pause');
    expect(supervisor.get('catalog').state).toBe('paused');
    expect(await probe.check(AbortSignal.timeout(1_500))).toBe(false);
    await supervisor.act('catalog', 'resume');
    expect(supervisor.get('catalog').state).toBe('running');
    expect(await eventually(probe)).toBe(true);
  });

  it('names the valid processes when asked for an unknown one', async () => {
    const err = await supervisor.act('nope', 'kill').catch((e: unknown) => e);
    expect(isLocalError(err, 'LOCAL_ERR_UNKNOWN_PROCESS')).toBe(true);
    expect((err as Error).message).toBe('unknown process "nope": choose one of redis, pg-catalog, catalog');
  });

  it('serves the control API with a bearer token and problem+json errors', async () => {
    const token = 'x'.repeat(32);
    const api = new ControlApi({ token, supervisor, onShutdown: () => {} });
    const port = await api.listen(0);
    try {
      const base = `http://127.0.0.1:${port}`;
      const noAuth = await fetch(`${base}/v1/status`);
      expect(noAuth.status).toBe(401);
      expect(noAuth.headers.get('content-type')).toBe('application/problem+json');
      const auth = { authorization: `Bearer ${token}` };
      const status = (await (await fetch(`${base}/v1/status`, { headers: auth })).json()) as {
        processes: { name: string }[];
      };
      expect(status.processes.map((p) => p.name)).toEqual(['redis', 'pg-catalog', 'catalog']);
      const unknown = await fetch(`${base}/v1/processes/nope/kill`, { method: 'POST', headers: auth });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ code: 'LOCAL_ERR_UNKNOWN_PROCESS' });
      const badAction = await fetch(`${base}/v1/processes/redis/explode`, { method: 'POST', headers: auth });
      expect(badAction.status).toBe(400);
      const paused = await fetch(`${base}/v1/processes/redis/resume`, { method: 'POST', headers: auth });
      expect(paused.status).toBe(409);
      expect(await paused.json()).toMatchObject({
        code: 'LOCAL_ERR_BAD_STATE',
        detail: 'cannot resume redis: it is running',
      });
    } finally {
      await api.close();
    }
  });

  it('stopAll leaves no child process alive and every port free', async () => {
    const groups = supervisor.status().map((s) => s.pid as number);
    expect(groups.every((p) => p > 0)).toBe(true);
    await supervisor.stopAll();
    for (const pgid of groups) expect(groupMembers(pgid)).toEqual([]);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
    expect(supervisor.status().map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  });
});

describe('Supervisor start-up failures', { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bw-sup-fail-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a port already taken before spawning anything, saying what to do', async () => {
    const [taken, other] = (await freePorts(2)) as [number, number];
    const blocker = await listenOn(taken);
    try {
      const supervisor = new Supervisor([fixtureSpec(dir, 'a', other), fixtureSpec(dir, 'b', taken)]);
      const err = await supervisor.startAll().catch((e: unknown) => e);
      expect(isLocalError(err, 'LOCAL_ERR_PORT_TAKEN')).toBe(true);
      expect((err as Error).message).toBe(
        `port ${taken} is taken: stop what uses it (wanted by b), or choose other ports`,
      );
      expect(supervisor.status().every((s) => s.state === 'stopped' && s.pid === undefined)).toBe(true);
    } finally {
      blocker.close();
    }
  });

  it('names the process and shows the last lines of its log when it exits before ready', async () => {
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const ok = fixtureSpec(dir, 'ok', p1);
    const supervisor = new Supervisor([{ ...ok, tier: 0 }, fixtureSpec(dir, 'crashy', p2, 'crash')]);
    const err = await supervisor.startAll().catch((e: unknown) => e);
    expect(isLocalError(err, 'LOCAL_ERR_EXITED')).toBe(true);
    expect((err as Error).message).toMatch(
      /^crashy exited with code 3 before it was ready; last lines of .*crashy\.log:/,
    );
    expect((err as Error).message).toContain('fixture: config invalid: FIXTURE_SETTING is required');
    // what had started was stopped again
    expect(supervisor.get('ok').state).toBe('stopped');
    expect(await isPortFree(p1)).toBe(true);
  });

  it('starts the rest when an optional process fails, leaving it down and returning its failure', async () => {
    const [p1, p2, p3] = (await freePorts(3)) as [number, number, number];
    const traces = { ...fixtureSpec(dir, 'traces', p2, 'crash'), tier: 0, optional: true };
    const supervisor = new Supervisor([
      { ...fixtureSpec(dir, 'first', p1), tier: 0 },
      traces,
      fixtureSpec(dir, 'later', p3),
    ]);
    try {
      const failures = await supervisor.startAll();
      expect(failures.map((f) => (f as Error).message)).toEqual([
        expect.stringMatching(/^traces exited with code 3/),
      ]);
      expect(supervisor.status().map((s) => [s.name, s.state])).toEqual([
        ['first', 'running'],
        ['traces', 'down'],
        ['later', 'running'],
      ]);
    } finally {
      await supervisor.stopAll();
    }
  });

  it('starts a process once what its startAfter names is ready, not after every lower tier', async () => {
    const [p1, p2, p3, p4] = (await freePorts(4)) as [number, number, number, number];
    const events: string[] = [];
    const supervisor = new Supervisor(
      [
        { ...fixtureSpec(dir, 'db', p1), tier: 0 },
        { ...fixtureSpec(dir, 'stuck', p2, 'never-ready', 3_000), tier: 0 },
        { ...fixtureSpec(dir, 'app', p3), startAfter: ['db'] },
        fixtureSpec(dir, 'after-all', p4),
      ],
      {
        onReady: (s) => events.push(`${s.name} ready`),
        onFailed: (name) => events.push(`${name} failed`),
      },
    );
    try {
      const failures = await supervisor.startAll({ keepGoing: true });
      expect(failures.map((f) => (f as Error).message)).toEqual([
        expect.stringMatching(/^stuck was not ready/),
      ]);
      // app did not wait for stuck; after-all (no startAfter: every lower tier) did, and with keepGoing started anyway.
      expect(events.indexOf('app ready')).toBeLessThan(events.indexOf('stuck failed'));
      expect(events.indexOf('after-all ready')).toBeGreaterThan(events.indexOf('stuck failed'));
    } finally {
      await supervisor.stopAll();
    }
  });

  it('with optionalInBackground returns while an optional process still starts; optionalStarts() has its failure', async () => {
    const [p1, p2, p3] = (await freePorts(3)) as [number, number, number];
    const supervisor = new Supervisor([
      { ...fixtureSpec(dir, 'first', p1), tier: 0 },
      { ...fixtureSpec(dir, 'traces', p2, 'never-ready', 4_000), tier: 0, optional: true },
      fixtureSpec(dir, 'later', p3),
    ]);
    try {
      expect(await supervisor.startAll({ optionalInBackground: true })).toEqual([]);
      expect(supervisor.status().map((s) => [s.name, s.state])).toEqual([
        ['first', 'running'],
        ['traces', 'starting'],
        ['later', 'running'],
      ]);
      const failed = await supervisor.optionalStarts();
      expect(failed.map((f) => (f as Error).message)).toEqual([
        expect.stringMatching(/^traces was not ready/),
      ]);
      expect(supervisor.get('traces').state).toBe('down');
    } finally {
      await supervisor.stopAll();
    }
  });

  it('gives up at the readiness deadline and kills the process', async () => {
    const [port] = (await freePorts(1)) as [number];
    const supervisor = new Supervisor([fixtureSpec(dir, 'slow', port, 'never-ready', 1_500)]);
    const err = await supervisor.startAll().catch((e: unknown) => e);
    expect(isLocalError(err, 'LOCAL_ERR_NOT_READY')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^slow was not ready within 1.5 s \\(GET http://127.0.0.1:${port}/health/ready answers 200\\); last lines of`,
      ),
    );
    // the log tail follows (its content depends on how far the process got under load)
    expect((err as Error).message).toMatch(/slow\.log/);
    expect(await isPortFree(port)).toBe(true);
  });
});

describe('Supervisor safety net', { timeout: 60_000 }, () => {
  it('kills its children when the process running it exits without stopping it', async () => {
    const { execFile } = await import('node:child_process');
    const { pidRunning } = await import('../src/stale.ts');
    const src = (f: string) => JSON.stringify(path.join(import.meta.dirname, '..', 'src', f));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-sup-exit-'));
    const script = `
      const { Supervisor } = await import(${src('supervisor.ts')});
      const { redisSpec } = await import(${src('redis.ts')});
      const { freePort } = await import(${src('ports.ts')});
      const port = await freePort();
      const dir = ${JSON.stringify(dir)};
      const s = new Supervisor([redisSpec({ port, dir, logFile: dir + '/redis.log', persistent: false })]);
      await s.startAll();
      console.log(s.get('redis').pid);
      throw new Error('a test blew up before its afterAll');`;
    try {
      const stdout = await new Promise<string>((resolve) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (_err, out) =>
          resolve(out),
        );
      });
      const pid = Number(stdout.trim());
      expect(pid).toBeGreaterThan(0);
      const deadline = Date.now() + 5_000;
      while (pidRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(pidRunning(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
