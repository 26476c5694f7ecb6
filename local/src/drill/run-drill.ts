/**
 * One drill, end to end: k6 runs the drill script against the platform (the
 * script injects and undoes its faults through the fault controller), then
 * the runner undoes anything of the drill still active (also after Ctrl-C or
 * a crash of k6), checks the database invariants, computes the verdict and
 * writes the report folder `reports/<drill>-<timestamp>/`:
 *
 * | file                | what                                                          |
 * |---------------------|---------------------------------------------------------------|
 * | `summary.json`      | k6's summary export (every threshold and sub-metric)          |
 * | `metrics.json.gz`   | k6's raw samples (`--out json`)                               |
 * | `k6.log`            | k6's output                                                   |
 * | `verdict.json/.txt` | the verdict table, run-wide checks, invariants                |
 * | `faults.json`       | the faults the controller injected, with start and end times  |
 * | `index.html`        | the report: verdict, score beside the last runs, timeline, the drill's dashboard panels, trace waterfalls |
 *
 * and appends the run to `reports/history.jsonl` (history.ts). When
 * Prometheus runs, k6 also writes to it (experimental-prometheus-rw, tagged
 * `testid=<drill>-<timestamp>`) and the report shows the drill's panels from
 * it; when Zipkin runs, the report draws the traces of the slowest, failed
 * and degraded requests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CERT_FILE, KEY_FILE } from '@breakwater/mesh/identity/files';
import { controlCall } from '../control-client.ts';
import { LocalError } from '../errors.ts';
import type { ProcessStatus } from '../managed-process.ts';
import type { RunState } from '../state.ts';
import { type DerivedInput, derivedChecks, steadyLatencyChecks } from './derived-checks.ts';
import type { DrillSpec } from './drills.ts';
import { appendHistory, historyEntry, lastRuns, readHistory } from './history.ts';
import { type IntruderPersona, startIntruder } from './intruder-personas.ts';
import {
  checkInvariants,
  type InvariantReport,
  redisUrlOf,
  restockCatalog,
  type StreamSnapshot,
  streamSnapshot,
} from './invariants.ts';
import { fetchPanels, panelsFor } from './panels.ts';
import { ensureReplicas, instancesByService } from './replicas.ts';
import { type FaultWindow, type PanelSection, reportHtml, type TraceSection } from './report-html.ts';
import { readTimeline, type Timeline } from './timeline.ts';
import { fetchWaterfalls, pickRequests, zipkinReachable } from './traces.ts';
import {
  type ExtraCheck,
  formatVerdict,
  type Outcome,
  type Summary,
  type Verdict,
  verdictFrom,
  withOutcome,
} from './verdict.ts';

/** gateway.yaml's development consumers (fake, checked-in secrets). */
export const ALICE_KEY = 'dev-alice-key-0000-NOT-A-SECRET';

export interface RunOptions {
  root: string;
  state: RunState;
  short: boolean;
  reportsDir: string;
  /** Extra k6 environment (RATE, STEADY, …). */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** Streams k6's own output to the terminal too. */
  echo?: boolean;
  /** How long orders may take to settle after the drill, overriding the drill's own (ms). */
  settleMs?: number;
}

export interface DrillResult {
  drill: string;
  pass: boolean;
  outcome: Outcome;
  score: number;
  exitCode: number | null;
  reportDir: string;
  verdict: Verdict;
  invariants?: InvariantReport;
  timeToRecoverMs?: number;
  table: string;
  interrupted: boolean;
}

export function k6Binary(root: string): string {
  const local = path.join(root, '.tools', 'bin', 'k6');
  return existsSync(local) ? local : 'k6';
}

let bobJwt: string | undefined;
function mintBob(root: string): string {
  if (bobJwt) return bobJwt;
  const minted = spawnSync(process.execPath, ['gateway/src/cli.ts', 'token', 'bob'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (minted.status !== 0) throw new Error(`could not mint bob's JWT: ${minted.stderr.trim()}`);
  bobJwt = minted.stdout.trim();
  return bobJwt;
}

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

interface FaultRecordLike {
  drill: string;
  name: string;
  target: string;
  preparation?: boolean;
  startedAt: string;
  endedAt?: string;
}

/** The drill's faults from the controller's history, since `since`. */
async function faultsOf(state: RunState, drill: string, since: number): Promise<FaultRecordLike[]> {
  const body = (await controlCall(state, 'GET', '/v1/faults')) as { history: FaultRecordLike[] };
  return body.history.filter((f) => f.drill === drill && Date.parse(f.startedAt) >= since - 1_000);
}

let interrupted = false;
let activeChild: ReturnType<typeof spawn> | undefined;
/** Ctrl-C: k6 gets it too (same process group) and runs its teardown; the runner then cleans up. */
export function markInterrupted(): void {
  interrupted = true;
  activeChild?.kill('SIGINT');
}

export async function runDrill(spec: DrillSpec, options: RunOptions): Promise<DrillResult> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const testId = `${spec.name}-${stamp(startedAt)}`;
  const reportDir = path.join(options.reportsDir, testId);
  mkdirSync(reportDir, { recursive: true });
  // The instances the drill declares, before anything is measured (a scale-up waits until they are ready).
  const scaled = await ensureReplicas(options.state, spec.replicas ?? {});
  if (scaled.length) log(`  scaled the run for the drill: ${scaled.join(', ')}`);
  const processes = (
    (await controlCall(options.state, 'GET', '/v1/status')) as { processes: ProcessStatus[] }
  ).processes;
  const instances = instancesByService(processes);
  // gateway-1 until the gateways are rolled out (gateway-3, …): the public port is the same.
  const gateway = processes.find((p) => p.name === instances.gateway?.[0]);
  const catalog = processes.find((p) => p.name === instances.catalog?.[0]);
  const payments = processes.find((p) => p.name === instances.payments?.[0]);
  const prometheus = processes.find((p) => p.name === 'prometheus' && p.state === 'running');
  const zipkinUrl =
    process.env.BW_ZIPKIN_URL ?? processes.find((p) => p.name === 'zipkin' && p.state === 'running')?.url;
  if (!gateway?.url) throw new Error('no gateway is part of the run');

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? reportDir,
    K6_NO_USAGE_REPORT: 'true',
    BASE_URL: gateway.url,
    API_KEY: ALICE_KEY,
    JWT_BOB: mintBob(options.root),
    CONTROL_URL: options.state.control.url,
    CONTROL_TOKEN: options.state.control.token,
    DRILL: spec.name,
    TEST_ID: testId,
    SHORT: options.short ? 'true' : 'false',
    ...(catalog?.url ? { CATALOG_URL: catalog.url } : {}),
    // INSTANCES_CATALOG=catalog-1,catalog-2,… : the replica drills pick their victim by position.
    ...Object.fromEntries(
      Object.entries(instances).map(([service, names]) => [
        `INSTANCES_${service.toUpperCase()}`,
        names.join(','),
      ]),
    ),
    // The rolling-deploy drill's broken variant (no drain: old instances SIGKILLed).
    ...(process.env.ROLLOUT_DRAIN ? { ROLLOUT_DRAIN: process.env.ROLLOUT_DRAIN } : {}),
    ...(payments?.url ? { PAYMENTS_URL: payments.url } : {}),
    ...meshClientEnv(options.state.runDir, spec.clientIdentity ?? 'prometheus'),
    ...options.env,
  };
  const args = [
    'run',
    '--quiet',
    '--no-color',
    '--tag',
    `testid=${testId}`,
    '--summary-export',
    path.join(reportDir, 'summary.json'),
    '--out',
    `json=${path.join(reportDir, 'metrics.json.gz')}`,
  ];
  if (prometheus?.url) {
    args.push('--out', 'experimental-prometheus-rw');
    env.K6_PROMETHEUS_RW_SERVER_URL = `${prometheus.url}/api/v1/write`;
    env.K6_PROMETHEUS_RW_TREND_STATS = 'p(50),p(95),p(99),avg,max';
    env.K6_PROMETHEUS_RW_PUSH_INTERVAL = '5s';
  }
  args.push(spec.script);

  // Dead letters before the drill, so the stream check counts only this drill's.
  let streamsBefore: StreamSnapshot | undefined;
  if (spec.streams) {
    try {
      streamsBefore = await streamSnapshot(redisUrlOf(processes));
    } catch (err) {
      log(`  ! could not read the streams before the drill: ${(err as Error).message}`);
      streamsBefore = { missingGroups: [], pending: 0, deadLetters: {} };
    }
  }

  // Every seeded product back at its seed stock: a series of drills on one
  // platform would sell products out, and 409s are not what a drill measures.
  if (spec.orders) {
    try {
      const topped = await restockCatalog(options.state.runDir, processes);
      if (topped > 0) log(`  restocked ${topped} products to their seed stock`);
    } catch (err) {
      log(`  ! could not restock the catalog: ${(err as Error).message}`);
    }
  }

  log(`▶ ${spec.name}: ${spec.summary}`);
  log(`  report: ${reportDir}`);
  const intruders = (spec.intruders ?? []).map((p) =>
    startIntruder(
      {
        ...(p.identity !== undefined ? { identity: personaIdentity(options.state.runDir, p.identity) } : {}),
        targets: p.targets.map((t) => ({
          method: t.method,
          url: `${processes.find((x) => x.name === t.service)?.url ?? ''}${t.path}`,
          ...(t.body !== undefined ? { body: t.body } : {}),
        })),
      },
      prometheus?.url,
    ),
  );
  const k6log = createWriteStream(path.join(reportDir, 'k6.log'));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(k6Binary(options.root), args, {
      cwd: options.root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    activeChild = child;
    const forward = (chunk: Buffer) => {
      k6log.write(chunk);
      if (options.echo) process.stdout.write(chunk);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (code) => {
      activeChild = undefined;
      resolve(code);
    });
  });
  await new Promise<void>((r) => k6log.end(() => r()));

  // Whatever happened in k6, nothing of this drill stays injected.
  try {
    const undone = (await controlCall(
      options.state,
      'DELETE',
      `/v1/faults?drill=${encodeURIComponent(spec.name)}`,
    )) as { undone: FaultRecordLike[] };
    const real = undone.undone.filter((f) => !f.preparation);
    if (real.length)
      log(`  undid ${real.length} fault(s) k6 left active: ${real.map((f) => f.name).join(', ')}`);
  } catch (err) {
    log(`  ! could not undo the drill's faults: ${(err as Error).message}`);
  }

  // A process that died on its own during the drill (not undone by the controller) is a
  // finding: say so in the verdict, then bring it back so the next drill starts whole.
  const crashed: string[] = [];
  try {
    const after = ((await controlCall(options.state, 'GET', '/v1/status')) as { processes: ProcessStatus[] })
      .processes;
    for (const p of after.filter((x) => x.state !== 'running')) {
      crashed.push(
        `${p.name} ${p.state}${p.exitCode != null ? ` (exit ${p.exitCode})` : p.signal ? ` (${p.signal})` : ''}`,
      );
      try {
        await controlCall(
          options.state,
          'POST',
          `/v1/processes/${p.name}/${p.state === 'paused' ? 'resume' : 'start'}`,
        );
      } catch (err) {
        log(`  ! could not bring ${p.name} back: ${(err as Error).message}`);
      }
    }
    if (crashed.length) log(`  ! not running after the drill (brought back): ${crashed.join(', ')}`);
  } catch (err) {
    log(`  ! could not read the platform status: ${(err as Error).message}`);
  }

  const summaryFile = path.join(reportDir, 'summary.json');
  const summary: Summary = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary)
    : { metrics: {} };

  let invariants: InvariantReport | undefined;
  if (spec.orders && exitCode !== 108) {
    const accepted = Object.entries(summary.metrics)
      .filter(([k]) => k.startsWith('served{') && k.includes('route:orders_create') && k.includes('phase:'))
      .reduce((n, [, m]) => n + (m.passes ?? 0), 0);
    // Each 202's order id, as the traffic logged it (k6/chaos/lib/traffic.ts ACCEPTED_MARK).
    const acceptedIds = [
      ...readFileSync(path.join(reportDir, 'k6.log'), 'utf8').matchAll(/bw_accepted ([0-9a-f-]{36})/g),
    ].map((m) => m[1] as string);
    try {
      invariants = await checkInvariants({
        runDir: options.state.runDir,
        ...(acceptedIds.length > 0 ? { acceptedIds } : {}),
        ...(streamsBefore ? { streamsBefore } : {}),
        processes: ((await controlCall(options.state, 'GET', '/v1/status')) as { processes: ProcessStatus[] })
          .processes,
        testId,
        accepted,
        ...(options.settleMs !== undefined
          ? { settleMs: options.settleMs }
          : spec.settleMs !== undefined
            ? { settleMs: spec.settleMs }
            : {}),
      });
    } catch (err) {
      invariants = {
        orders: 0,
        results: [{ name: 'invariants readable', ok: false, detail: (err as Error).message }],
      };
    }
  }

  const extra: ExtraCheck[] = [];
  if (exitCode === 108 || exitCode === null || (exitCode !== 0 && exitCode !== 99)) {
    const k6out = readFileSync(path.join(reportDir, 'k6.log'), 'utf8');
    const why =
      /steady state does not hold[^"\n]*/.exec(k6out)?.[0] ?? /msg="(Error[^"\n]*)/.exec(k6out)?.[1];
    if (why) log(`  ! ${why}`);
    extra.push({
      name: 'k6 run',
      value: `exit ${exitCode}${why ? `: ${why.slice(0, 200)}` : ''}`,
      threshold:
        exitCode === 108
          ? 'steady state held before the fault (it did not: refused to start)'
          : 'k6 ran to the end',
      pass: false,
    });
  }
  extra.push({
    name: 'platform whole after the drill',
    value: crashed.length ? `down: ${crashed.join(', ')}` : 'every process running',
    threshold: 'no process died on its own',
    pass: crashed.length === 0,
  });
  const ran = summary.metrics.recovered;
  if (exitCode !== 108 && (ran === undefined || (ran.passes ?? 0) + (ran.fails ?? 0) === 0)) {
    extra.push({
      name: 'fault schedule',
      value: 'never finished',
      threshold: 'the chaos VU injected, undid and probed',
      pass: false,
    });
  }
  // Together: each waits for Prometheus's next scrapes, and the short form has 60 s in all.
  extra.push(...(await Promise.all(intruders.map((i) => i.finish()))).flat());
  const derivedInput: DerivedInput = { summary, root: options.root };
  extra.push(...derivedChecks(spec.derived ?? [], derivedInput));
  if (spec.steadyLatency) extra.push(...steadyLatencyChecks(summary, spec.steadyLatency));
  for (const inv of invariants?.results ?? [])
    extra.push({ name: `invariant: ${inv.name}`, value: inv.detail, threshold: 'holds', pass: inv.ok });
  const verdict = withOutcome(verdictFrom(summary, extra), interrupted);

  let timeline: Timeline = { start: startedAt.toISOString(), points: [], phases: [], requests: [] };
  try {
    timeline = await readTimeline(path.join(reportDir, 'metrics.json.gz'));
  } catch (err) {
    log(`  ! no timeline: ${(err as Error).message}`);
  }
  const t0 = Date.parse(timeline.start);
  let faults: FaultRecordLike[] = [];
  try {
    faults = await faultsOf(options.state, spec.name, startedAt.getTime());
  } catch (err) {
    log(`  ! could not read the fault history: ${(err as Error).message}`);
  }
  const windows: FaultWindow[] = faults
    .filter((f) => !f.preparation)
    .map((f) => ({
      name: f.name,
      target: f.target,
      from: Math.max(0, (Date.parse(f.startedAt) - t0) / 1000),
      ...(f.endedAt ? { to: (Date.parse(f.endedAt) - t0) / 1000 } : {}),
    }));
  const ttr = summary.metrics.time_to_recover?.max;

  const panels = await drillPanels(options.root, spec, prometheus?.url, t0, log);
  const traces = await drillTraces(zipkinUrl, timeline, log);

  const { entries, problems } = readHistory(options.reportsDir);
  for (const p of problems) log(`  ! ${p}`);
  const run = historyEntry({
    drill: spec.name,
    time: startedAt,
    testId,
    verdict,
    short: options.short,
    ...(ttr !== undefined ? { timeToRecoverMs: ttr } : {}),
    summary,
    report: path.relative(options.reportsDir, path.join(reportDir, 'index.html')),
  });
  try {
    appendHistory(options.reportsDir, run);
  } catch (err) {
    log(`  ! could not append to the history: ${(err as Error).message}`);
  }

  const table = `${formatVerdict(spec.name, verdict)}\nscore ${run.score} (held ${run.held} of ${run.judged} weighted hypotheses)`;
  writeFileSync(path.join(reportDir, 'verdict.txt'), `${table}\n`);
  writeFileSync(
    path.join(reportDir, 'verdict.json'),
    `${JSON.stringify({ drill: spec.name, testId, pass: verdict.pass, outcome: verdict.outcome, score: run.score, exitCode, timeToRecoverMs: ttr, verdict, invariants }, null, 2)}\n`,
  );
  writeFileSync(path.join(reportDir, 'faults.json'), `${JSON.stringify(faults, null, 2)}\n`);
  writeFileSync(
    path.join(reportDir, 'index.html'),
    reportHtml({
      drill: spec.name,
      testId,
      pass: verdict.pass,
      startedAt: startedAt.toISOString(),
      outcome: verdict.outcome,
      verdict,
      ...(invariants ? { invariants } : {}),
      timeline,
      faults: windows,
      phases: timeline.phases,
      exitCode,
      run,
      history: lastRuns(entries, spec.name, 5),
      panels,
      traces,
    }),
  );
  return {
    drill: spec.name,
    pass: verdict.pass,
    outcome: verdict.outcome,
    score: run.score,
    exitCode,
    reportDir,
    verdict,
    ...(invariants ? { invariants } : {}),
    ...(ttr !== undefined ? { timeToRecoverMs: ttr } : {}),
    table,
    interrupted,
  };
}

/** The drill's dashboard panels over its window, or why there are none. */
async function drillPanels(
  root: string,
  spec: DrillSpec,
  prometheusUrl: string | undefined,
  t0: number,
  log: (line: string) => void,
): Promise<PanelSection> {
  if (!prometheusUrl) return { state: 'none', reason: 'Prometheus was not running during this drill.' };
  if (!Number.isFinite(t0)) return { state: 'none', reason: 'k6 recorded no requests.' };
  try {
    return {
      state: 'ok',
      panels: await fetchPanels(root, prometheusUrl, panelsFor(spec.panels), {
        startMs: t0,
        endMs: Date.now(),
      }),
    };
  } catch (err) {
    log(`  ! could not read the panels from Prometheus: ${(err as Error).message}`);
    return { state: 'none', reason: `Prometheus could not be read: ${(err as Error).message}` };
  }
}

/** Waterfalls of the picked requests, or why there are none. */
async function drillTraces(
  zipkinUrl: string | undefined,
  timeline: Timeline,
  log: (line: string) => void,
): Promise<TraceSection> {
  if (!zipkinUrl)
    return {
      state: 'no-zipkin',
      reason:
        'no Zipkin was running during this drill (`npm start` runs one where Java 17 is installed; or set BW_ZIPKIN_URL).',
    };
  if (!(await zipkinReachable(zipkinUrl)))
    return {
      state: 'no-zipkin',
      reason: `Zipkin at ${zipkinUrl} did not answer when the report was written.`,
    };
  try {
    // Spans are exported in batches: give the last ones a few seconds to arrive.
    const waterfalls = await fetchWaterfalls(zipkinUrl, pickRequests(timeline.requests), { waitMs: 3_000 });
    return { state: 'ok', zipkinUrl, waterfalls };
  } catch (err) {
    log(`  ! could not read traces from Zipkin: ${(err as Error).message}`);
    return {
      state: 'no-zipkin',
      reason: `Zipkin at ${zipkinUrl} could not be read: ${(err as Error).message}`,
    };
  }
}

/** The files of process `identity`'s certificate in the run's CA folder, if it has one. */
function runIdentity(runDir: string, identity: string): { cert: string; key: string } | undefined {
  const dir = path.join(runDir, 'ca', 'identities', identity);
  const cert = path.join(dir, CERT_FILE);
  return existsSync(cert) ? { cert, key: path.join(dir, KEY_FILE) } : undefined;
}

/** An intruder persona's certificate: the run process `identity`'s own (its ServiceAccount is its name). */
function personaIdentity(runDir: string, identity: string): NonNullable<IntruderPersona['identity']> {
  const files = runIdentity(runDir, identity);
  if (files === undefined)
    throw new LocalError(
      'LOCAL_ERR_BAD_INPUT',
      `intruder persona ${identity}: no certificate in ${path.join(runDir, 'ca', 'identities', identity)} (the run needs its CA: not --plaintext)`,
    );
  return { serviceAccount: identity, cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

/**
 * With mTLS on (the run has a CA), k6 presents the certificate of one
 * process of the run to 127.0.0.1: Prometheus's (the policy lets it read
 * /metrics) unless the drill names another (intruder: notifications').
 */
function meshClientEnv(runDir: string, identity: string): Record<string, string> {
  const files = runIdentity(runDir, identity);
  return files ? { MESH_CLIENT_CERT: files.cert, MESH_CLIENT_KEY: files.key } : {};
}
