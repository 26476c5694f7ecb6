/**
 * `npm run drill -- <name>|all [--short] [--run-dir DIR] [--reports DIR] [--keep-up] [--verbose] [--settle SECONDS]`
 *
 * Brings the platform up (with the fault controller) unless a run is already
 * up in the run folder, runs the drills one after the other, prints each
 * verdict table, writes reports/<drill>-<timestamp>/ and exits 0 only when
 * every drill passed (1 otherwise, 2 on bad usage, 130 after Ctrl-C). A
 * platform the runner started is stopped again unless --keep-up.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../run-cli.ts';
import { DRILLS, type DrillSpec, drillByName, replicasFor } from './drills.ts';
import { ensurePlatform, type PlatformHandle } from './platform.ts';
import { type DrillResult, markInterrupted, runDrill } from './run-drill.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

const USAGE = `usage: npm run drill -- <name>|all [--short] [--run-dir DIR] [--reports DIR] [--keep-up] [--verbose] [--settle SECONDS]
drills:
${DRILLS.map((d) => `  ${d.name.padEnd(24)} ${d.summary}`).join('\n')}`;

function fmtTtr(r: DrillResult): string {
  return r.timeToRecoverMs === undefined ? '—' : `${(r.timeToRecoverMs / 1000).toFixed(1)} s`;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean' }>; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        short: { type: 'boolean' },
        'run-dir': { type: 'string' },
        reports: { type: 'string' },
        'keep-up': { type: 'boolean' },
        verbose: { type: 'boolean' },
        settle: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message.split('\n')[0]}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`name a drill or "all"\n${USAGE}\n`);
    return 2;
  }
  const selected: DrillSpec[] = [];
  for (const name of positionals) {
    if (name === 'all') selected.push(...DRILLS);
    else {
      const spec = drillByName(name);
      if (!spec) {
        process.stderr.write(
          `unknown drill "${name}": choose one of ${DRILLS.map((d) => d.name).join(', ')}, all\n`,
        );
        return 2;
      }
      selected.push(spec);
    }
  }
  const runDir = path.resolve(
    (values['run-dir'] as string | undefined) ?? process.env.BW_RUN_DIR ?? path.join(ROOT, '.run'),
  );
  const reportsDir = path.resolve((values.reports as string | undefined) ?? path.join(ROOT, 'reports'));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const settleRaw = (values.settle as string | undefined) ?? process.env.BW_DRILL_SETTLE_S;
  const settleMs = settleRaw === undefined ? undefined : Number(settleRaw) * 1000;
  if (settleMs !== undefined && !(settleMs > 0)) {
    process.stderr.write(`--settle must be a number of seconds (got "${settleRaw}")\n`);
    return 2;
  }

  let platform: PlatformHandle | undefined;
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    log('\ninterrupted: undoing the drill’s faults and writing its report …');
    markInterrupted();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: DrillResult[] = [];
  try {
    // Drills that need instances: a platform started for them has discovery on, and starts with
    // those instances when every selected drill needs them (the others keep one of each; the
    // runner scales up before each replica drill).
    const needy = selected.filter((d) => d.replicas);
    platform = await ensurePlatform({
      root: ROOT,
      runDir,
      log,
      ...(needy.length ? { discovery: true } : {}),
      ...(needy.length === selected.length ? { replicas: replicasFor(needy) } : {}),
    });
    for (const spec of selected) {
      if (stopping) break;
      const result = await runDrill(spec, {
        root: ROOT,
        state: platform.state,
        short: values.short === true,
        reportsDir,
        log,
        echo: values.verbose === true,
        ...(settleMs !== undefined ? { settleMs } : {}),
      });
      results.push(result);
      log('');
      log(result.table);
      log(`time to recover: ${fmtTtr(result)} · report: ${path.join(result.reportDir, 'index.html')}`);
      log('');
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    if (platform?.started && !values['keep-up']) {
      log('stopping the platform this runner started …');
      await platform.stop();
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (results.length > 1) {
    log('drill                     verdict  time to recover  report');
    for (const r of results)
      log(
        `${r.drill.padEnd(26)}${(r.pass ? 'PASS' : 'FAIL').padEnd(9)}${fmtTtr(r).padEnd(17)}${r.reportDir}`,
      );
  }
  if (stopping) return 130;
  return results.length === selected.length && results.every((r) => r.pass) ? 0 : 1;
}

if (import.meta.main) runCli(() => main(process.argv.slice(2)), { stack: true });
