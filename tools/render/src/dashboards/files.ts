/**
 * The Grafana files `npm run render` writes from the dashboards as code
 * (this folder): observability/grafana/dashboards/*.json and the
 * provisioning files, deterministically, and the dashboard JSON no code
 * produces any more (removed when writing, stale under --check).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../root.ts';
import { renderedFiles } from './index.ts';

/** Where the generated files live, repo-relative. */
export const GRAFANA_DIR = 'observability/grafana';

/** repo-relative path → content, and the orphaned dashboards to remove. */
export function renderDashboardFiles(root: string = REPO_ROOT): {
  files: Record<string, string>;
  remove: string[];
} {
  const files = renderedFiles();
  const out: Record<string, string> = {};
  for (const [path, content] of files) out[`${GRAFANA_DIR}/${path}`] = content;
  return { files: out, remove: orphanDashboards(root, files).map((p) => `${GRAFANA_DIR}/${p}`) };
}

/** Paths (relative to observability/grafana) that differ from what render would write. */
export function staleFiles(files: Map<string, string> = renderedFiles(), root: string = REPO_ROOT): string[] {
  const stale: string[] = [];
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(root, GRAFANA_DIR, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(path);
  }
  for (const extra of orphanDashboards(root, files)) stale.push(extra);
  return stale.sort();
}

function orphanDashboards(root: string, files: Map<string, string>): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, GRAFANA_DIR, 'dashboards'));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => `dashboards/${n}`)
    .filter((p) => !files.has(p));
}
