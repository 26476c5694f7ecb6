/**
 * The fault controller against real processes: a supervised HTTP service
 * (kill, pause, lease expiry, undo by id and by drill) through the control
 * API routes the plugin adds, and a real mesh server kit whose fault filter
 * the controller switches through its admin endpoint.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServiceApp, type ServiceApp } from '@breakwater/mesh/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlApi } from '../src/control-api.ts';
import { FaultController } from '../src/faults/fault-controller.ts';
import { installFaultController } from '../src/faults/fault-plugin.ts';
import type { ProcessSpec } from '../src/managed-process.ts';
import { freePorts } from '../src/ports.ts';
import { httpProbe } from '../src/readiness.ts';
import type { RunState } from '../src/state.ts';
import { Supervisor } from '../src/supervisor.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'http-service.ts');
const TOKEN = 'drill-faults-test-control-token-0123';
const ADMIN = 'drill-faults-test-admin-token-0123456';

let dir: string;
let supervisor: Supervisor;
let api: ControlApi;
let controlUrl: string;
let controller: FaultController;
let port: number;
let port2: number;

function spec(name: string, p: number): ProcessSpec {
  return {
    name,
    kind: 'service',
    command: process.execPath,
    args: [FIXTURE],
    env: { PORT: String(p) },
    port: p,
    url: `http://127.0.0.1:${p}`,
    logFile: path.join(dir, 'logs', `${name}.log`),
    ready: httpProbe(`http://127.0.0.1:${p}/health/ready`),
    readyTimeoutMs: 10_000,
    tier: 1,
  };
}

async function call(method: string, p: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${controlUrl}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const stateOf = (name: string) => supervisor.status().find((p) => p.name === name)?.state;

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function metricsText(): Promise<string> {
  const { body } = await call('GET', '/v1/faults');
  return (await fetch(String(body.metricsUrl))).text();
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bw-drill-faults-'));
  [port, port2] = (await freePorts(2)) as [number, number];
  supervisor = new Supervisor([spec('svc', port), spec('svc2', port2)]);
  await supervisor.startAll();
  api = new ControlApi({ token: TOKEN, supervisor, onShutdown: () => {} });
  controlUrl = `http://127.0.0.1:${await api.listen(0)}`;
  const state = { runDir: dir, adminToken: ADMIN } as RunState;
  controller = await installFaultController({ api, supervisor, state, print: () => {} });
}, 30_000);

afterAll(async () => {
  await controller?.undoAll();
  await api?.close();
  await supervisor?.stopAll();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('process faults through the control API', { timeout: 30_000 }, () => {
  it('kills a process, reports it active and in bw_drill_fault_active, and undoes it (restarted, ready)', async () => {
    const injected = await call('POST', '/v1/faults', {
      drill: 'unit',
      name: 'kill',
      spec: { kind: 'process', target: 'svc', action: 'kill' },
    });
    expect(injected.status).toBe(201);
    expect(stateOf('svc')).toBe('down');
    const listed = await call('GET', '/v1/faults');
    expect((listed.body.active as { id: string }[]).map((f) => f.id)).toEqual([injected.body.id]);
    expect(await metricsText()).toContain('bw_drill_fault_active{drill="unit",fault="kill",target="svc"} 1');

    const undone = await call('DELETE', `/v1/faults/${injected.body.id}`);
    expect(undone.status).toBe(200);
    expect(undone.body.endedBy).toBe('undo');
    expect(stateOf('svc')).toBe('running');
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    expect(await metricsText()).toContain('bw_drill_fault_active{drill="unit",fault="kill",target="svc"} 0');
    expect((await call('DELETE', `/v1/faults/${injected.body.id}`)).status).toBe(404);
  });

  it('undoes every fault of one drill at once, leaving other drills alone', async () => {
    await call('POST', '/v1/faults', {
      drill: 'a',
      spec: { kind: 'process', target: 'svc', action: 'pause' },
    });
    expect(stateOf('svc')).toBe('paused');
    const other = await call('POST', '/v1/faults', {
      drill: 'b',
      preparation: true,
      spec: { kind: 'process', target: 'svc2', action: 'pause' },
    });
    expect(other.status).toBe(201);
    const undone = await call('DELETE', '/v1/faults?drill=a');
    expect((undone.body.undone as unknown[]).length).toBe(1);
    expect(stateOf('svc')).toBe('running');
    expect((await call('GET', '/v1/faults')).body.active).toMatchObject([{ id: other.body.id, drill: 'b' }]);
    // a preparation is undone like a fault but never shown as one
    expect(await metricsText()).not.toContain('drill="b"');
    expect(stateOf('svc2')).toBe('paused');
    await call('DELETE', '/v1/faults?drill=b');
    expect(stateOf('svc2')).toBe('running');
  });

  it('undoes a fault by itself when its lease runs out (a runner killed mid-drill)', async () => {
    const injected = await call('POST', '/v1/faults', {
      drill: 'lease',
      maxDurationMs: 300,
      spec: { kind: 'process', target: 'svc', action: 'pause' },
    });
    expect(stateOf('svc')).toBe('paused');
    expect(await until(() => stateOf('svc') === 'running', 5_000)).toBe(true);
    const history = (await call('GET', '/v1/faults')).body.history as { id: string; endedBy?: string }[];
    expect(history.find((f) => f.id === injected.body.id)?.endedBy).toBe('lease');
  });

  it('refuses bad input with the field named, unknown processes with the valid names, and a wrong token', async () => {
    const bad = await call('POST', '/v1/faults', {
      spec: { kind: 'process', target: 'svc', action: 'explode' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'LOCAL_ERR_BAD_INPUT',
      detail: 'spec.action: one of kill, pause, stop',
    });
    const unknown = await call('POST', '/v1/faults', {
      spec: { kind: 'process', target: 'nope', action: 'kill' },
    });
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.detail)).toContain('choose one of svc, svc2');
    expect((await call('GET', '/v1/faults', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    expect(stateOf('svc')).toBe('running');
  });

  it('writes a Prometheus file_sd target for its metrics listener', async () => {
    const targets = JSON.parse(readFileSync(path.join(dir, 'prometheus', 'targets', 'faults.json'), 'utf8'));
    const { body } = await call('GET', '/v1/faults');
    expect(String(body.metricsUrl)).toBe(`http://${targets[0].targets[0]}/metrics`);
  });
});

describe('mesh faults through a real fault filter', { timeout: 30_000 }, () => {
  let kit: ServiceApp;
  let kitPort: number;
  let adminPort: number;
  let mesh: FaultController;

  beforeAll(async () => {
    kit = createServiceApp({
      service: 'meshsvc',
      admin: { port: 0, token: ADMIN },
      signals: [],
      accessLog: false,
      drainDelayMs: 0,
      routes: (r) => {
        r.get('/products/:id', (_req, res) => {
          res.json({ ok: true });
        });
      },
    });
    const listening = await kit.listen({ host: '127.0.0.1', port: 0 });
    kitPort = listening.port;
    adminPort = listening.adminPort as number;
    mesh = new FaultController({
      adminToken: ADMIN,
      processes: {
        act: (name, action) => supervisor.act(name, action),
        status: () => [
          ...supervisor.status(),
          {
            name: 'meshsvc',
            kind: 'service',
            state: 'running',
            adminPort,
            starts: 1,
            logFile: '',
            command: '',
            executable: '',
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await mesh?.undoAll();
    await kit?.shutdown();
  });

  const rules = async () =>
    (
      (await (
        await fetch(`http://127.0.0.1:${adminPort}/admin/faults`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).json()) as { faults: { id?: string }[] }
    ).faults.map((f) => f.id);

  it('switches delay and abort rules on and off, keeping the other fault’s rules', async () => {
    // Two faults on the same service, one rule each.
    const injectRule = (rule: Record<string, unknown>) =>
      mesh.inject({ drill: 'mesh', spec: { kind: 'mesh', target: 'meshsvc', rules: [rule] } });
    const abort = await injectRule({
      id: 'abort-all',
      match: { route: '/products/:id' },
      abort: { percent: 100, status: 503 },
    });
    const delay = await injectRule({
      id: 'slow',
      match: { pathPrefix: '/other' },
      delay: { percent: 100, ms: 50 },
    });
    expect(await rules()).toEqual(['abort-all', 'slow']);
    const faulted = await fetch(`http://127.0.0.1:${kitPort}/products/p1`);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('x-bw-fault')).toBe('abort');

    await mesh.undo(abort.id);
    expect(await rules()).toEqual(['slow']);
    expect((await fetch(`http://127.0.0.1:${kitPort}/products/p1`)).status).toBe(200);
    await mesh.undo(delay.id);
    expect(await rules()).toEqual([]);
  });
});

describe('faults on one instance or on every instance of a service', { timeout: 30_000 }, () => {
  let web: Supervisor;
  let faults: FaultController;

  beforeAll(async () => {
    const ports = await freePorts(3);
    web = new Supervisor(ports.map((p, i) => ({ ...spec(`web-${i + 1}`, p), service: 'web' })));
    await web.startAll();
    faults = new FaultController({ adminToken: ADMIN, processes: web });
  });
  afterAll(async () => {
    await faults?.undoAll();
    await web?.stopAll();
  });

  const states = () => web.status().map((p) => `${p.name} ${p.state}`);

  it('a service name pauses every instance and the undo resumes them all', async () => {
    const fault = await faults.inject({ spec: { kind: 'process', target: 'web', action: 'pause' } });
    expect(fault.target).toBe('web');
    expect(states()).toEqual(['web-1 paused', 'web-2 paused', 'web-3 paused']);
    await faults.undo(fault.id);
    expect(states()).toEqual(['web-1 running', 'web-2 running', 'web-3 running']);
  });

  it('an instance name kills that instance only, and the undo starts it again', async () => {
    const fault = await faults.inject({ spec: { kind: 'process', target: 'web-2', action: 'kill' } });
    expect(states()).toEqual(['web-1 running', 'web-2 down', 'web-3 running']);
    await faults.undo(fault.id);
    expect(states()).toEqual(['web-1 running', 'web-2 running', 'web-3 running']);
  });

  it('an unknown target is a 404 naming the instances and their service', async () => {
    await expect(
      faults.inject({ spec: { kind: 'process', target: 'webby', action: 'kill' } }),
    ).rejects.toThrow('unknown process "webby": choose one of web-1, web-2, web-3, web');
  });

  it('a rollout is refused where the controller has no scaler', async () => {
    await expect(faults.inject({ spec: { kind: 'rollout', services: ['web'] } })).rejects.toThrow(
      'this run cannot roll out services',
    );
  });
});
