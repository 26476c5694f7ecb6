/**
 * `npm run render` for the observability workspace: writes the Grafana
 * dashboards (observability/grafana/dashboards/*.json) and provisioning
 * files from observability/grafana/src, deterministically, and removes
 * dashboard JSON no code produces any more.
 *
 *   node observability/src/render.ts           write the files
 *   node observability/src/render.ts --check   exit 1 if a file is stale
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderedFiles } from '../grafana/src/index.ts';

const grafanaDir = join(import.meta.dirname, '..', 'grafana');

/** Paths (relative to observability/grafana) that differ from what render would write. */
export function staleFiles(files: Map<string, string> = renderedFiles()): string[] {
  const stale: string[] = [];
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(grafanaDir, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(path);
  }
  for (const extra of orphanDashboards(files)) stale.push(extra);
  return stale.sort();
}

function orphanDashboards(files: Map<string, string>): string[] {
  let names: string[];
  try {
    names = readdirSync(join(grafanaDir, 'dashboards'));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => `dashboards/${n}`)
    .filter((p) => !files.has(p));
}

function render(): void {
  const files = renderedFiles();
  for (const [path, content] of files) {
    const target = join(grafanaDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  for (const orphan of orphanDashboards(files)) rmSync(join(grafanaDir, orphan));
  process.stdout.write(`observability: rendered ${files.size} files under observability/grafana/\n`);
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length > 0) {
      process.stderr.write(
        `observability: stale generated files (run node observability/src/render.ts):\n  ${stale.join('\n  ')}\n`,
      );
      process.exit(1);
    }
    process.stdout.write('observability: generated Grafana files are up to date\n');
  } else {
    render();
  }
}
