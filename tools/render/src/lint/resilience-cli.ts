/**
 * `npm run lint -- resilience [--quiet]`: walks every call path from the
 * gateway's routes and checks retries, timeouts and idempotency across hops
 * (resilience-model.ts says the rules). Prints the table, or with --quiet
 * only the violations and a summary line; exits 1 on a violation, 2 on bad
 * usage.
 */
import { analyse } from './resilience-model.ts';
import { formatReport, formatViolations } from './resilience-report.ts';
import { loadResilienceInput } from './resilience-sources.ts';

const USAGE = 'usage: npm run lint -- resilience [--quiet]';

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.filter((a) => a !== '--quiet');
  if (unknown.length > 0) {
    console.error(`unknown argument: ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const report = analyse(await loadResilienceInput());
  if (!args.includes('--quiet')) console.log(formatReport(report));
  else if (report.violations.length > 0)
    console.log(
      `${formatViolations(report.violations)}\nresilience lint: ${report.violations.length} violation(s); the table: npm run lint -- resilience`,
    );
  else
    console.log(
      `resilience lint: no violations (${report.rows.length} levels on ${new Set(report.rows.map((r) => r.path.join())).size} paths)`,
    );
  return report.violations.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
