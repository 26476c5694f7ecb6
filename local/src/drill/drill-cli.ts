/**
 * `npm run drill -- <name>|all [--short] [--run-dir DIR] [--reports DIR] [--keep-up] [--verbose] [--settle SECONDS]`
 * `npm run drill -- history [name…] [--last N] [--reports DIR]`
 *
 * Brings the platform up (with the fault controller) unless a run is already
 * up in the run folder, runs the drills one after the other, prints each
 * verdict table, writes reports/<drill>-<timestamp>/, appends each run to
 * reports/history.jsonl and exits 0 only when every drill passed (1 when one
 * failed, 3 when none failed but one was INCONCLUSIVE, 2 on bad usage, 130
 * after Ctrl-C). A platform the runner started is stopped again unless
 * --keep-up. `history` prints the recorded runs per drill with their trend.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '../run-cli.ts';
import { DRILLS, type DrillSpec, drillByName, replicasFor } from './drills.ts';
import { formatHistory, readHistory } from './history.ts';
import { ensurePlatform, type PlatformHandle } from './platform.ts';
import { type DrillResult, markInterrupted, runDrill } from './run-drill.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

const USAGE = `usage: npm run drill -- <name>|all [--short] [--run-dir DIR] [--reports DIR] [--keep-up] [--verbose] [--settle SECONDS]
       npm run drill -- history [name…] [--last N] [--reports DIR]   (the recorded runs per drill, with their trend)
exit: 0 every drill passed, 1 one failed, 3 none failed but one was INCONCLUSIVE (too few samples), 2 bad usage
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
        last: { type: 'string' },
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
  const reportsDir = path.resolve((values.reports as string | undefined) ?? path.join(ROOT, 'reports'));
  if (positionals[0] === 'history')
    return history(positionals.slice(1), values.last as string | undefined, reportsDir);
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
      log(
        `time to recover: ${fmtTtr(result)} · score: ${result.score} · report: ${path.join(result.reportDir, 'index.html')}`,
      );
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
    log('drill                     verdict       score  time to recover  report');
    for (const r of results)
      log(
        `${r.drill.padEnd(26)}${r.outcome.padEnd(14)}${String(r.score).padEnd(7)}${fmtTtr(r).padEnd(17)}${r.reportDir}`,
      );
  }
  if (stopping) return 130;
  if (results.length !== selected.length || results.some((r) => r.outcome === 'FAIL')) return 1;
  return results.every((r) => r.outcome === 'PASS') ? 0 : 3;
}

/** `history [name…] [--last N]`: the recorded runs per drill; a bad line is named on stderr and skipped. */
function history(names: string[], lastRaw: string | undefined, reportsDir: string): number {
  const last = lastRaw === undefined ? 10 : Number(lastRaw);
  if (!Number.isInteger(last) || last < 1) {
    process.stderr.write(`--last must be a whole number of runs ≥ 1 (got "${lastRaw}")\n`);
    return 2;
  }
  const unknown = names.filter((n) => !drillByName(n));
  if (unknown.length) {
    process.stderr.write(
      `unknown drill "${unknown[0]}": choose one of ${DRILLS.map((d) => d.name).join(', ')}\n`,
    );
    return 2;
  }
  const { entries, problems } = readHistory(reportsDir);
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stdout.write(`${formatHistory(entries, last, names)}\n`);
  return 0;
}

if (import.meta.main) runCli(() => main(process.argv.slice(2)), { stack: true });
