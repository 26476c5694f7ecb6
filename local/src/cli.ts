#!/usr/bin/env node
/**
 * The local deployment's command line: `npm run local -- <command>` (scripts/bw
 * runs `node local/src/cli.ts` with the bootstrapped Node 24; `npm start` is
 * `up`). Errors are one line on stderr and a non-zero exit code.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { controlCall, liveState, remoteStatus } from './control-client.ts';
import { LocalError } from './errors.ts';
import { faultControllerPlugin } from './faults/fault-plugin.ts';
import { followFile, tailLines } from './logs.ts';
import type { ProcessStatus } from './managed-process.ts';
import { PLATFORM } from './platform.ts';
import { parsePort } from './ports.ts';
import { addressableNames, checkReplicas, parseReplicas } from './replicas.ts';
import { resolvePlan } from './rollout.ts';
import type { RolloutResult, ScaleResult } from './scaling.ts';
import { pidRunning, processCommandLine } from './stale.ts';
import { readState, supervisorAlive } from './state.ts';
import { formatStatusTable } from './status-table.ts';
import { PROCESS_ACTIONS, type ProcessAction, unknownProcess } from './supervisor.ts';
import { up } from './up.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

const USAGE = `usage: npm run local -- <command> [options]   (npm start = npm run local -- up)

commands:
  up                 start Redis, PostgreSQL (one per service), every service that exists,
                     the gateway, Prometheus and Zipkin (where Java 17 is); print the status
                     table; stay up until Ctrl-C
    --only a,b         only these processes
    --port-base N      ports from N on instead of free ports chosen by the kernel
    --gateway-port N   the gateway's port (default 8080, env BW_GATEWAY_PORT; 0 = any free)
    --gateway-config F the gateways' config file (default gateway/gateway.yaml, env BW_GATEWAY_CONFIG)
    --prometheus-port N  Prometheus's port (default 9090 when free, env BW_PROMETHEUS_PORT)
    --keep-going       a process that fails to start stays down; the others start anyway
    --replicas S=N,…   instances per service, e.g. catalog=3,orders=2 (catalog, orders, payments,
                       notifications, frontend, gateway; 1-9; env BW_REPLICAS); implies --discovery
    --discovery        callers read <run-dir>/endpoints/<service>.json (every instance, ready or
                       not) instead of one URL, so scale works at run time
    --plaintext        no mTLS: no CA, services speak plain HTTP (env BW_MTLS=off)
    --cert-lifetime S  workload certificate lifetime in seconds (default 3600, at least 10;
                       renewed at half-life; env BW_CERT_LIFETIME)
  status [--json]    every process with state, pid, port and URL
  scale <service> <n>  run n instances: new ones start and join when ready; removed ones drain
                     (out of the endpoints file, in-flight requests finish, then SIGTERM)
  rollout <service>  replace every instance, as a Deployment's RollingUpdate: a new one starts and
                     becomes ready, an old one drains, until none of the old is left
    --max-surge N|P%       instances above the count meanwhile (default 25%, rounded up)
    --max-unavailable N|P% instances below it (default 25%, rounded down; never both 0)
  stop [name]        stop one process gracefully; without a name, stop the whole run
  start <name>       start a stopped or down process
  kill <name>        SIGKILL one process (it stays down until restart)
  pause <name>       SIGSTOP one process
  resume <name>      SIGCONT a paused process
  restart <name>     stop (if running) and start one process
                     (kill, pause, resume, restart, start, stop: a service name such as catalog
                     addresses all its instances catalog-1, catalog-2, …)
  logs <name> [-n N] [-f]  the last N lines (default 50) of a process's log; -f follows

options:
  --run-dir DIR      run folder for data, logs and state (default .run; env BW_RUN_DIR)
  -h, --help         this text`;

const COMMANDS = ['up', 'status', 'logs', 'scale', 'rollout', ...PROCESS_ACTIONS] as const;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(message: string): never {
  throw new LocalError('LOCAL_ERR_BAD_INPUT', message);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        'run-dir': { type: 'string' },
        only: { type: 'string' },
        'port-base': { type: 'string' },
        'gateway-port': { type: 'string' },
        'gateway-config': { type: 'string' },
        'prometheus-port': { type: 'string' },
        json: { type: 'boolean' },
        'keep-going': { type: 'boolean' },
        replicas: { type: 'string' },
        discovery: { type: 'boolean' },
        'max-surge': { type: 'string' },
        'max-unavailable': { type: 'string' },
        plaintext: { type: 'boolean' },
        'cert-lifetime': { type: 'string' },
        lines: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
      },
    });
  } catch (err) {
    // node's message goes on to explain `--`; the first sentence is the point
    return fail(`${(err as Error).message.split('\n')[0]?.split('. ')[0]} (see --help)`);
  }
}

/** What the state file says, with each pid re-checked (a dead supervisor's children may be gone too). */
function offlineStatus(processes: ProcessStatus[]): ProcessStatus[] {
  return processes.map((p) => {
    const alive = p.pid !== undefined && processCommandLine(p.pid)?.startsWith(p.executable);
    if (alive) return p;
    const { pid: _pid, ...rest } = p;
    return { ...rest, state: p.state === 'stopped' ? 'stopped' : 'down' };
  });
}

async function status(runDir: string, json: boolean): Promise<number> {
  const state = readState(runDir);
  if (state === undefined || state === 'unreadable') {
    throw new LocalError(
      'LOCAL_ERR_NOT_RUNNING',
      `no Breakwater run in ${runDir}: start one with "npm start"`,
    );
  }
  const live = supervisorAlive(state);
  const processes = live ? await remoteStatus(state) : offlineStatus(state.processes);
  if (json) {
    out(JSON.stringify({ supervisor: live ? state.supervisorPid : null, processes }, null, 2));
    return 0;
  }
  if (!live) {
    out(
      state.stoppedAt
        ? `the last run stopped at ${state.stoppedAt} (supervisor pid ${state.supervisorPid}):`
        : `the supervisor (pid ${state.supervisorPid}) is gone without stopping: "npm start" recovers; last known state:`,
    );
  }
  out(formatStatusTable(processes));
  return 0;
}

/**
 * Names a command may use: a live run's processes; otherwise (and for logs,
 * which outlive runs) every name of the platform list and of the last run.
 */
function knownNames(runDir: string, forLogs = false): string[] {
  const state = readState(runDir);
  const run = state && state !== 'unreadable' ? state : undefined;
  if (run && supervisorAlive(run) && !forLogs) return addressableNames(run.processes.map((p) => p.name));
  return [...new Set([...PLATFORM.map((e) => e.name), ...(run?.processes.map((p) => p.name) ?? [])])];
}

async function action(runDir: string, verb: ProcessAction, name: string | undefined): Promise<number> {
  if (name !== undefined && !knownNames(runDir).includes(name))
    throw unknownProcess(name, knownNames(runDir));
  const state = liveState(runDir);
  if (verb === 'stop' && name === undefined) {
    await controlCall(state, 'POST', '/v1/shutdown');
    const deadline = Date.now() + 120_000;
    for (let i = 0; i < 1200 && Date.now() < deadline && pidRunning(state.supervisorPid); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (pidRunning(state.supervisorPid)) {
      throw new LocalError(
        'LOCAL_ERR_BAD_STATE',
        `the supervisor (pid ${state.supervisorPid}) is still stopping`,
      );
    }
    out('stopped the whole run');
    return 0;
  }
  if (name === undefined) fail(`${verb} needs a process name: npm run local -- ${verb} <name>`);
  const answer = (await controlCall(state, 'POST', `/v1/processes/${encodeURIComponent(name)}/${verb}`)) as
    | ProcessStatus
    | { processes: ProcessStatus[] };
  const rows = 'processes' in answer ? answer.processes : [answer];
  for (const row of formatStatusTable(rows).split('\n').slice(1)) out(row);
  return 0;
}

async function scale(
  runDir: string,
  service: string | undefined,
  count: string | undefined,
): Promise<number> {
  if (service === undefined || count === undefined)
    fail('scale needs a service and a count: npm run local -- scale catalog 3');
  const replicas = checkReplicas(service, count);
  const state = liveState(runDir);
  const result = (await controlCall(state, 'POST', `/v1/services/${encodeURIComponent(service)}/scale`, {
    replicas,
  })) as ScaleResult;
  const what = [
    result.started.length ? `started ${result.started.join(', ')}` : '',
    result.removed.length ? `drained and removed ${result.removed.join(', ')}` : '',
  ].filter(Boolean);
  out(
    `${service}: ${result.replicas} instance${result.replicas === 1 ? '' : 's'}${what.length ? ` (${what.join('; ')})` : ' (unchanged)'}`,
  );
  out(formatStatusTable(result.processes));
  return 0;
}

async function rollout(
  runDir: string,
  service: string | undefined,
  maxSurge: string | undefined,
  maxUnavailable: string | undefined,
): Promise<number> {
  if (service === undefined) fail('rollout needs a service: npm run local -- rollout catalog');
  checkReplicas(service, 1); // names the services that can have instances
  // Checked here too, so a bad flag is one line before any call (the same check the supervisor makes).
  resolvePlan(1, {
    ...(maxSurge !== undefined ? { maxSurge } : {}),
    ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
  });
  const state = liveState(runDir);
  const result = (await controlCall(state, 'POST', `/v1/services/${encodeURIComponent(service)}/rollout`, {
    ...(maxSurge !== undefined ? { maxSurge } : {}),
    ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
  })) as RolloutResult;
  out(
    `${service}: rolled out ${result.replicas} instance${result.replicas === 1 ? '' : 's'} (maxSurge ${result.maxSurge}, maxUnavailable ${result.maxUnavailable})`,
  );
  for (const step of result.steps) {
    const what = [
      step.started.length ? `started ${step.started.join(', ')}` : '',
      step.removed.length ? `drained ${step.removed.join(', ')}` : '',
    ].filter(Boolean);
    out(`  ${(step.atMs / 1000).toFixed(1).padStart(6)} s  ${what.join('; ')}`);
  }
  out(formatStatusTable(result.processes));
  return 0;
}

async function logs(runDir: string, name: string | undefined, lines: string | undefined, follow: boolean) {
  if (name === undefined) fail('logs needs a process name: npm run local -- logs <name> [-n N] [-f]');
  const known = knownNames(runDir, true);
  if (!known.includes(name)) throw unknownProcess(name, known);
  const n = lines === undefined ? 50 : Number(lines);
  if (!Number.isInteger(n) || n < 0) fail(`-n must be a whole number, got "${lines}"`);
  const file = path.join(runDir, 'logs', `${name}.log`);
  if (!existsSync(file)) throw new LocalError('LOCAL_ERR_NOT_FOUND', `no log for ${name} yet (${file})`);
  const tail = tailLines(file, n);
  if (tail) out(tail);
  if (!follow) return 0;
  const controller = new AbortController();
  await new Promise<void>((resolve) => {
    const stop = () => {
      controller.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    followFile(file, statSync(file).size, (chunk) => process.stdout.write(chunk), controller.signal);
  });
  return 0;
}

/** The environment `up` reads, validated once; the message names the variable. */
const envSchema = z.object({
  BW_RUN_DIR: z.string().min(1).optional(),
  BW_GATEWAY_PORT: z.string().regex(/^\d+$/, 'must be a port number 0-65535').optional(),
  BW_PROMETHEUS_PORT: z.string().regex(/^\d+$/, 'must be a port number 0-65535').optional(),
  BW_GATEWAY_CONFIG: z.string().min(1).optional(),
  BW_MTLS: z.enum(['on', 'off']).optional(),
  BW_CERT_LIFETIME: z.string().regex(/^\d+$/, 'must be whole seconds').optional(),
  BW_REPLICAS: z.string().optional(),
});

function readEnv(): z.infer<typeof envSchema> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`${issue?.path.join('.')} ${issue?.message} (got "${process.env[String(issue?.path[0])]}")`);
  }
  return parsed.data;
}

/** A port from its flag, else from its environment variable; the error names whichever was used. */
function portOption(flag: string, value: string | undefined, envName: string, envValue: string | undefined) {
  if (value !== undefined) return parsePort(value, flag);
  if (envValue !== undefined && envValue !== '') return parsePort(envValue, envName);
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, name, ...rest] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return command === undefined && !values.help ? 1 : 0;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    fail(`unknown command "${command}": use one of ${COMMANDS.join(', ')} (see --help)`);
  }
  const extra = command === 'scale' ? rest.slice(1) : rest;
  if (extra.length) fail(`unexpected argument "${extra[0]}" (see --help)`);
  const env = readEnv();
  const runDir = path.resolve(values['run-dir'] ?? env.BW_RUN_DIR ?? path.join(ROOT, '.run'));
  switch (command) {
    case 'up': {
      if (name !== undefined) fail(`up takes no process name (use --only ${name})`);
      const portBase = portOption('--port-base', values['port-base'], '', undefined);
      const gatewayPort = portOption(
        '--gateway-port',
        values['gateway-port'],
        'BW_GATEWAY_PORT',
        env.BW_GATEWAY_PORT,
      );
      const prometheusPort = portOption(
        '--prometheus-port',
        values['prometheus-port'],
        'BW_PROMETHEUS_PORT',
        env.BW_PROMETHEUS_PORT,
      );
      const only = values.only
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      // The flag, else BW_REPLICAS (what a drill or the footprint bench starts with); empty is none.
      const replicasText = values.replicas ?? (env.BW_REPLICAS || undefined);
      const replicas = replicasText !== undefined ? parseReplicas(replicasText) : undefined;
      const gatewayConfig = values['gateway-config'] ?? env.BW_GATEWAY_CONFIG;
      if (gatewayConfig !== undefined && !existsSync(path.resolve(ROOT, gatewayConfig))) {
        fail(`gateway config ${gatewayConfig} does not exist: pass an existing file to --gateway-config`);
      }
      const lifetime = values['cert-lifetime'] ?? env.BW_CERT_LIFETIME;
      if (lifetime !== undefined && (!/^\d+$/.test(lifetime) || Number(lifetime) < 10))
        fail(`--cert-lifetime must be whole seconds ≥ 10, got "${lifetime}"`);
      return up({
        root: ROOT,
        plaintext: values.plaintext === true || env.BW_MTLS === 'off',
        ...(lifetime !== undefined ? { certLifetimeMs: Number(lifetime) * 1000 } : {}),
        runDir,
        ...(gatewayConfig !== undefined ? { gatewayConfig: path.resolve(ROOT, gatewayConfig) } : {}),
        // The fault controller rides on the control API, so drills can use this run.
        plugins: [faultControllerPlugin],
        ...(only ? { only } : {}),
        ...(portBase !== undefined ? { portBase } : {}),
        ...(gatewayPort !== undefined ? { gatewayPort } : {}),
        ...(prometheusPort !== undefined ? { prometheusPort } : {}),
        keepGoing: values['keep-going'] ?? false,
        ...(replicas ? { replicas } : {}),
        ...(values.discovery ? { discovery: true } : {}),
      });
    }
    case 'status':
      if (name !== undefined) fail('status takes no process name');
      return status(runDir, values.json ?? false);
    case 'scale':
      return scale(runDir, name, rest[0]);
    case 'rollout':
      return rollout(runDir, name, values['max-surge'], values['max-unavailable']);
    case 'logs':
      return logs(runDir, name, values.lines, values.follow ?? false);
    default:
      return action(runDir, command as ProcessAction, name);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Nothing should keep the loop alive now; if a stray handle does, exit anyway.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (err: unknown) => {
      const message = err instanceof LocalError ? err.message : ((err as Error).stack ?? String(err));
      process.stderr.write(`bw-local: error: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
