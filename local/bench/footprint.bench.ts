/**
 * `npm run bench -- footprint` (node local/bench/footprint.bench.ts): what the
 * local platform costs in memory and in start-up time, measured on this
 * machine (issue 16, target 2). Not a test: it reports.
 *
 * 1. Starts the platform as `npm start` does (local/src/drill/platform-up.ts,
 *    which is `local up` with the fault controller) in a new temporary run
 *    folder, every port free and kernel-chosen (so a platform already up on
 *    8080/9090 is left alone). The first start includes initdb for each
 *    PostgreSQL; the bench stops it and starts it again in the same folder:
 *    that second start is the cold start of an everyday `npm start`, the one
 *    held to the target. Both are timed from spawning the supervisor until
 *    every process but the optional trace backend is ready and the table is
 *    printed (polled every 50 ms): what `npm start` calls ready. Zipkin's
 *    ready time is printed apart (nothing waits for it), and the cold
 *    start's timeline from up's log. npm's and scripts/bw's own start come
 *    on top. BENCH_ONLY=start stops after the two starts.
 * 2. Idle: after BENCH_SETTLE_S (20) s, the PSS of every process below the
 *    supervisor (local/src/footprint.ts): services, gateways, Redis, each
 *    PostgreSQL with its backends and helpers, Prometheus, the supervisor
 *    (which serves the control API and the fault controller); Grafana and
 *    the trace backend (Zipkin), when they run, counted apart and printed
 *    each on its own line.
 * 3. Load: the runner behind `npm run load -- average` with the average
 *    profile squeezed into BENCH_LOAD_S (60) s (ramp 1/6, hold, ramp-down
 *    1/12; RATE journeys/s, 20 by default); PSS sampled every 5 s for the
 *    peak, and read again as soon as k6 ends.
 * 4. Prints every process, the totals per supervised process, and each
 *    target as a ratio with met / not met: total ≤ 700 MiB (idle and after
 *    load), no Node process above 70 MiB idle, cold start < 5 s.
 * 5. Stops the platform, checks that no process it ran and none of its ports
 *    is left, and removes the folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { main as load } from '../src/drill/load-cli.ts';
import { ensurePlatform, type PlatformHandle } from '../src/drill/platform.ts';
import { countedApart, mib, type ProcessMemory, platformMemory, totalKiB } from '../src/footprint.ts';
import type { ProcessStatus } from '../src/managed-process.ts';
import { isPortFree } from '../src/ports.ts';
import { pidRunning } from '../src/stale.ts';
import { formatTable } from '../src/status-table.ts';
import { ZIPKIN_HEAP_MIB, ZIPKIN_MAX_SPANS } from '../src/zipkin.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 20);
const LOAD_S = Number(process.env.BENCH_LOAD_S ?? 60);
const SAMPLE_MS = 5_000;
const TARGET_TOTAL_MIB = 700;
const TARGET_NODE_IDLE_MIB = 70;
const TARGET_COLD_START_S = 5;

const out = (line = '') => process.stdout.write(`${line}\n`);
const runDir = mkdtempSync(path.join(tmpdir(), 'bw-footprint-'));
let platform: PlatformHandle | undefined;
/** Every pid and port the platform had, to prove at the end that none is left. */
const seenPids = new Set<number>();
const seenPorts = new Set<number>();

interface Start {
  handle: PlatformHandle;
  /** Until every process but the optional ones (the trace backend) is ready: what `npm start` calls ready. */
  seconds: number;
  /** Until the trace backend is ready too (undefined: it does not run, or failed). */
  zipkinSeconds: number | undefined;
}

async function start(label: string, timeline = false): Promise<Start> {
  const log = path.join(runDir, 'logs', 'drill-platform.log');
  const offset = existsSync(log) ? statSync(log).size : 0;
  const began = performance.now();
  const handle = await ensurePlatform({
    root: ROOT,
    runDir,
    env: { BW_GATEWAY_PORT: '0', BW_PROMETHEUS_PORT: '0' },
    pollMs: 50,
    timeoutMs: 180_000,
    waitForOptional: false,
  });
  const seconds = (performance.now() - began) / 1000;
  platform = handle;
  if (!handle.started) throw new Error(`a platform was already up in ${runDir}: not ours to measure`);
  out(`${label}: platform ready in ${seconds.toFixed(2)} s (supervisor pid ${handle.state.supervisorPid})`);
  const zipkinSeconds = await zipkinReady(handle, began);
  out(
    zipkinSeconds === undefined
      ? '  trace backend: not running (npm start says why)'
      : `  trace backend (Zipkin) ready in ${zipkinSeconds.toFixed(2)} s (nothing waits for it)`,
  );
  if (timeline) {
    // up's own timeline of this start: when each process started and was ready, from the supervisor's start.
    out('  timeline (from the supervisor process start; the bench adds its spawn and Node start):');
    const lines = readFileSync(log).subarray(offset).toString('utf8').split('\n');
    for (const l of lines)
      if (/^ {2}[…✓✗] |^mTLS |^platform ready|ready \(\+/.test(l)) out(`    ${l.trim()}`);
  }
  return { handle, seconds, zipkinSeconds };
}

/** Seconds from `began` until the optional trace backend is ready (polled every 50 ms, at most 3 min). */
async function zipkinReady(handle: PlatformHandle, began: number): Promise<number | undefined> {
  for (let i = 0; i < 3_600; i++) {
    const zipkin = (await handle.status()).find((s) => s.kind === 'zipkin');
    if (zipkin?.state === 'running') return (performance.now() - began) / 1000;
    if (zipkin?.state !== 'starting') return undefined;
    await sleep(50);
  }
  return undefined;
}

async function stop(): Promise<void> {
  const handle = platform;
  platform = undefined;
  await handle?.stop();
}

async function snapshot(handle: PlatformHandle): Promise<ProcessMemory[]> {
  const statuses: ProcessStatus[] = await handle.status();
  for (const s of statuses) {
    if (s.port) seenPorts.add(s.port);
    if (s.adminPort) seenPorts.add(s.adminPort);
  }
  const memory = platformMemory(handle.state.supervisorPid, statuses);
  for (const m of memory) seenPids.add(m.pid);
  return memory;
}

/** Runs the average profile for LOAD_S seconds, sampling PSS meanwhile; resolves with k6's exit code and the samples. */
async function underLoad(handle: PlatformHandle): Promise<{ code: number; samples: ProcessMemory[][] }> {
  const samples: ProcessMemory[][] = [];
  let sampling = true;
  const sampler = (async () => {
    // Bounded by the load: the loop ends when k6 has, and at most once per SAMPLE_MS.
    while (sampling) {
      await sleep(SAMPLE_MS);
      if (sampling) samples.push(await snapshot(handle));
    }
  })();
  const ramp = Math.max(1, Math.round(LOAD_S / 6));
  const down = Math.max(1, Math.round(LOAD_S / 12));
  const hold = Math.max(1, LOAD_S - ramp - down);
  try {
    const code = await load([
      'average',
      '--run-dir',
      runDir,
      '--',
      '--quiet',
      '-e',
      `RAMP=${ramp}s`,
      '-e',
      `DURATION=${hold}s`,
    ]);
    return { code, samples };
  } finally {
    sampling = false;
    await sampler;
  }
}

interface Columns {
  idle: ProcessMemory[];
  peak: Map<number, number>;
  after: ProcessMemory[];
}

function peakPerPid(samples: readonly ProcessMemory[][]): Map<number, number> {
  const peak = new Map<number, number>();
  for (const sample of samples)
    for (const m of sample)
      if (m.pssKiB !== undefined) peak.set(m.pid, Math.max(peak.get(m.pid) ?? 0, m.pssKiB));
  return peak;
}

function printProcesses({ idle, peak, after }: Columns, groups: readonly string[]): void {
  const byPid = new Map<number, ProcessMemory>();
  for (const m of [...after, ...idle]) byPid.set(m.pid, m);
  const rank = (m: ProcessMemory) => {
    const i = groups.indexOf(m.group);
    return i === -1 ? groups.length : i;
  };
  const rows = [...byPid.values()]
    .sort((a, b) => rank(a) - rank(b) || a.group.localeCompare(b.group) || a.pid - b.pid)
    .map((m) => {
      const at = (list: ProcessMemory[]) => list.find((x) => x.pid === m.pid)?.pssKiB;
      const cell = (kib: number | undefined) => (kib === undefined ? '-' : mib(kib));
      return [
        m.group,
        String(m.pid),
        m.node ? `node: ${m.role}` : m.role,
        cell(at(idle)),
        cell(peak.get(m.pid)),
        cell(at(after)),
      ];
    });
  out(formatTable(['PROCESS', 'PID', 'WHAT', 'IDLE MiB', 'LOAD PEAK', 'AFTER LOAD'], rows, [1, 3, 4, 5]));
}

function printGroups(idle: ProcessMemory[], after: ProcessMemory[], groups: readonly string[]): void {
  const names = [...new Set([...groups, ...idle.map((m) => m.group), ...after.map((m) => m.group)])];
  const rows = names
    .map((g) => {
      const i = idle.filter((m) => m.group === g);
      const a = after.filter((m) => m.group === g);
      return [g, `${i.length}/${a.length}`, mib(totalKiB(i)), mib(totalKiB(a))];
    })
    .filter((r) => r[1] !== '0/0');
  out(formatTable(['PROCESS', 'PROCS idle/after', 'IDLE MiB', 'AFTER LOAD'], rows, [1, 2, 3]));
}

function sums(memory: readonly ProcessMemory[]) {
  const platformOnly = memory.filter((m) => !countedApart(m));
  const of = (f: (m: ProcessMemory) => boolean) => platformOnly.filter(f);
  return {
    total: totalKiB(platformOnly),
    count: platformOnly.length,
    node: of((m) => m.node),
    postgres: of((m) => m.kind === 'postgres'),
    other: of((m) => !m.node && m.kind !== 'postgres'),
    apart: memory.filter(countedApart),
  };
}

function verdict(value: number, target: number, unit: string, below = false): string {
  const met = below ? value < target : value <= target;
  return `${value.toFixed(unit === 's' ? 2 : 1)} ${unit} / ${target} ${unit} = ${(value / target).toFixed(2)}  ${met ? 'met' : 'not met'}`;
}

async function checkNothingLeft(): Promise<string[]> {
  const left: string[] = [];
  // The supervisor's stop waits for its children; give stragglers (PostgreSQL backends) a bounded moment.
  for (let i = 0; i < 50; i++) {
    if (![...seenPids].some(pidRunning)) break;
    await sleep(100);
  }
  for (const pid of seenPids) if (pidRunning(pid)) left.push(`pid ${pid}`);
  for (const port of seenPorts) if (!(await isPortFree(port))) left.push(`port ${port}`);
  return left;
}

async function main(): Promise<number> {
  out(
    `footprint: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (a busy machine slows the start and the load; the memory figures move less)`,
  );
  out(`run folder ${runDir}; settle ${SETTLE_S} s; load: k6 average profile for ${LOAD_S} s`);
  out();

  const first = await start('first start (new run folder, initdb for each PostgreSQL)');
  await snapshot(first.handle); // its pids and ports, checked at the end like the rest
  await stop();
  const cold = await start('cold start (run folder initialised: an everyday npm start)', true);
  const handle = cold.handle;
  if (process.env.BENCH_ONLY === 'start') {
    out(
      `cold start to ready ${verdict(cold.seconds, TARGET_COLD_START_S, 's', true)}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    return 0;
  }
  const groups = ['supervisor', ...(await handle.status()).map((s) => s.name)];

  out(`settling ${SETTLE_S} s …`);
  await sleep(SETTLE_S * 1000);
  const idle = await snapshot(handle);
  out(`idle: ${idle.length} processes, ${mib(totalKiB(idle))} MiB; loading …`);
  out();
  const { code, samples } = await underLoad(handle);
  const after = await snapshot(handle);
  out();
  if (code !== 0)
    out(`k6 exited ${code}${code === 99 ? ' (a threshold failed: see its summary above)' : ''}`);

  const peakTotal = Math.max(0, ...samples.map((s) => totalKiB(s.filter((m) => !countedApart(m)))));
  out();
  out('PSS of every process (MiB; "-" = not running then; load peak = highest of the 5 s samples):');
  printProcesses({ idle, peak: peakPerPid(samples), after }, groups);
  out();
  out('per supervised process:');
  printGroups(idle, after, groups);

  const i = sums(idle);
  const a = sums(after);
  const part = (list: ProcessMemory[]) => `${mib(totalKiB(list))} MiB in ${list.length}`;
  out();
  out(
    formatTable(
      ['TOTALS', 'IDLE', 'AFTER LOAD'],
      [
        [
          'platform (PSS sum)',
          `${mib(i.total)} MiB, ${i.count} processes`,
          `${mib(a.total)} MiB, ${a.count} processes`,
        ],
        ['  Node processes', part(i.node), part(a.node)],
        ['  PostgreSQL', part(i.postgres), part(a.postgres)],
        ['  Redis, Prometheus, other', part(i.other), part(a.other)],
        ['counted apart (Grafana, traces)', part(i.apart), part(a.apart)],
        // Each apart, by name: Zipkin's memory is bounded on its own terms (heap cap, span limit).
        ...[...new Set([...i.apart, ...a.apart].map((m) => m.group))].map((g) => [
          `  ${g}`,
          part(i.apart.filter((m) => m.group === g)),
          part(a.apart.filter((m) => m.group === g)),
        ]),
        ['load peak (platform)', '', `${mib(peakTotal)} MiB`],
      ],
    ),
  );

  const biggestNode = [...i.node].sort((x, y) => (y.pssKiB ?? 0) - (x.pssKiB ?? 0))[0];
  out();
  out('targets (issue 16):');
  out(`  total PSS idle           ${verdict(i.total / 1024, TARGET_TOTAL_MIB, 'MiB')}`);
  out(`  total PSS after load     ${verdict(a.total / 1024, TARGET_TOTAL_MIB, 'MiB')}`);
  out(
    `  largest Node idle        ${verdict((biggestNode?.pssKiB ?? 0) / 1024, TARGET_NODE_IDLE_MIB, 'MiB')} (${biggestNode?.group ?? '-'}; ${i.node.filter((m) => (m.pssKiB ?? 0) / 1024 > TARGET_NODE_IDLE_MIB).length} of ${i.node.length} Node processes above)`,
  );
  out(`  cold start to ready      ${verdict(cold.seconds, TARGET_COLD_START_S, 's', true)}`);
  out(
    `  cold start split         platform ready ${cold.seconds.toFixed(2)} s; trace backend ready ${cold.zipkinSeconds === undefined ? '- (not running)' : `${cold.zipkinSeconds.toFixed(2)} s`} (not a target: nothing waits for it)`,
  );
  const zipkin = (list: ProcessMemory[]) => totalKiB(list.filter((m) => m.kind === 'zipkin'));
  out(
    i.apart.some((m) => m.kind === 'zipkin')
      ? `  trace backend (Zipkin, counted apart): ${mib(zipkin(i.apart))} MiB idle, ${mib(zipkin(a.apart))} MiB after load (heap capped at ${ZIPKIN_HEAP_MIB} MiB, at most ${ZIPKIN_MAX_SPANS} spans kept)`
      : '  trace backend: not running (npm start says why)',
  );
  out(`  (first start, with initdb: platform ${first.seconds.toFixed(2)} s; not a target)`);
  out(
    `load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  return 0;
}

let exiting = false;
process.on('SIGINT', () => {
  if (exiting) process.exit(130);
  exiting = true;
  out('\ninterrupted: stopping the platform …');
  void stop().finally(() => process.exit(130));
});
process.on('exit', () => {
  // Last resort (an uncaught error): the supervisor stops everything it runs on SIGTERM.
  if (platform?.started) process.kill(platform.state.supervisorPid, 'SIGTERM');
});

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`footprint bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await stop().catch((err: unknown) => process.stderr.write(`stopping the platform: ${String(err)}\n`));
  const left = await checkNothingLeft();
  out(
    left.length
      ? `stopped, but left behind: ${left.join(', ')}`
      : `stopped: none of the ${seenPids.size} processes or ${seenPorts.size} ports it used is left`,
  );
  if (left.length) code = 1;
  else rmSync(runDir, { recursive: true, force: true });
}
process.exitCode = code;
