/**
 * The drill report page, one self-contained HTML file readable offline:
 * the verdict and score beside the drill's last runs, a timeline chart
 * (success rate, p50/p95 latency, request rate) with the phases and faults
 * shaded, the dashboard panels that matter for the drill over its window,
 * the trace waterfalls of the slowest, failed and degraded requests per
 * phase, and the verdict tables. Charts are drawn by uPlot, whose script
 * and stylesheet are read from node_modules when the report is written and
 * inlined with the data (embedded as JSON) — nothing is fetched when the
 * page opens.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HistoryEntry } from './history.ts';
import type { InvariantReport } from './invariants.ts';
import type { PanelData } from './panels.ts';
import { esc, scriptJson } from './report-escape.ts';
import { type TraceSection, waterfallsHtml } from './report-waterfalls.ts';
import type { Timeline } from './timeline.ts';
import type { Outcome, Verdict } from './verdict.ts';

export type { TraceSection } from './report-waterfalls.ts';

export interface FaultWindow {
  name: string;
  target: string;
  /** Seconds since the timeline's start. */
  from: number;
  to?: number;
}

export interface PhaseWindow {
  name: string;
  from: number;
  to: number;
}

/** The panels section: the data, or why there is none. */
export type PanelSection = { state: 'ok'; panels: PanelData[] } | { state: 'none'; reason: string };

export interface ReportData {
  drill: string;
  testId: string;
  pass: boolean;
  outcome: Outcome;
  startedAt: string;
  verdict: Verdict;
  invariants?: InvariantReport;
  timeline: Timeline;
  faults: FaultWindow[];
  phases: PhaseWindow[];
  exitCode: number | null;
  /** This run as the history records it (score, time to recover, degraded share). */
  run?: HistoryEntry;
  /** The drill's earlier runs, oldest first. */
  history?: HistoryEntry[];
  panels?: PanelSection;
  traces?: TraceSection;
}

const require = createRequire(import.meta.url);
let assets: { js: string; css: string; client: string } | undefined;

/** uPlot's script and stylesheet and the report's own chart script, read once. */
function chartAssets(): { js: string; css: string; client: string } {
  if (!assets) {
    const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    const client = readFileSync(new URL('./report-client.js', import.meta.url), 'utf8');
    // An inline script ends at the first `</script`, wherever it stands.
    const inline = (s: string) => s.replaceAll('</script', '<\\/script');
    assets = { js: inline(js), css, client: inline(client) };
  }
  return assets;
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(2)} %`);
const fmtTtr = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
const cls = (o: Outcome | undefined) => (o === undefined ? '' : o.toLowerCase());

function historyTable(run: HistoryEntry | undefined, history: readonly HistoryEntry[]): string {
  if (!run) return '';
  const rows = [...history.map((h) => ({ h, me: false })), { h: run, me: true }]
    .map(
      ({ h, me }) =>
        `<tr class="${cls(h.verdict)}${me ? ' this-run' : ''}"><td>${esc(h.time.replace(/\.\d+Z$/, 'Z'))}${me ? ' (this run)' : ''}</td><td>${h.short ? 'short' : 'full'}</td><td>${h.score}</td><td>${h.held}/${h.judged}</td><td>${fmtTtr(h.timeToRecoverMs)}</td><td>${(h.degradedShare * 100).toFixed(1)} %</td><td>${h.verdict}</td></tr>`,
    )
    .join('\n');
  return `<h2>This run beside the last ones</h2>
<table id="history"><thead><tr><th>time</th><th>form</th><th>score</th><th>held/judged</th><th>time to recover</th><th>degraded</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">Score: 100 × weighted share of the hypotheses that held (fault-phase rows ×2, database invariants ×3, the rest ×1; INCONCLUSIVE rows not judged) × (1 − 0.2 × time to recover / its budget). See the README, "Drill reports".</p>`;
}

function panelsHtml(section: PanelSection | undefined): string {
  if (!section) return '';
  if (section.state === 'none')
    return `<p class="no-panels" id="no-panels">No panels: ${esc(section.reason)}</p>`;
  return section.panels
    .map(
      (p, i) =>
        `<div class="panel" data-title="${esc(p.title)}" data-dashboard="${esc(p.dashboard)}"><h3>${esc(p.title)} <small>${esc(p.dashboard)} dashboard</small></h3><p class="note">${esc(p.description)}</p>${
          p.error
            ? `<p class="panel-error">${esc(p.error)}</p>`
            : p.series.length === 0
              ? '<p class="note">no data in this window</p>'
              : ''
        }<div id="panel-${i}" class="chart" data-rendered="no"></div></div>`,
    )
    .join('\n');
}

export function reportHtml(data: ReportData): string {
  const { js, css, client } = chartAssets();
  const rows = data.verdict.rows
    .map(
      (r) =>
        `<tr class="${cls(r.outcome)}"><td>${esc(r.phase)}</td><td>${esc(r.route)}</td><td>${r.requests}</td><td>${pct(r.served)}</td><td>${r.degraded}</td><td>${r.p95 === undefined ? '—' : Math.round(r.p95)} ms</td><td>${r.p99 === undefined ? '—' : Math.round(r.p99)} ms</td><td>${esc(r.thresholds.join('; ') || '—')}${
          r.undersampled ? `<br><small>too few samples: ${esc(r.undersampled.join('; '))}</small>` : ''
        }</td><td>${r.outcome ?? '·'}</td></tr>`,
    )
    .join('\n');
  const checks = data.verdict.checks
    .map(
      (c) =>
        `<tr class="${c.pass ? 'pass' : 'fail'}"><td>${esc(c.name)}</td><td>${esc(c.value)}</td><td>${esc(c.threshold)}</td><td>${c.pass ? 'PASS' : 'FAIL'}</td></tr>`,
    )
    .join('\n');
  const invariants = (data.invariants?.results ?? [])
    .map(
      (i) =>
        `<tr class="${i.ok ? 'pass' : 'fail'}"><td>${esc(i.name)}</td><td>${esc(i.detail)}</td><td>${i.ok ? 'PASS' : 'FAIL'}</td></tr>`,
    )
    .join('\n');
  const points = data.timeline.points;
  const end = Math.max(
    points.length ? (points.at(-1)?.t ?? 0) + 1 : 1,
    ...data.phases.map((p) => p.to),
    ...data.faults.map((f) => f.to ?? 0),
  );
  const json = scriptJson({
    timeline: { points },
    faults: data.faults,
    phases: data.phases,
    end,
    panels: data.panels?.state === 'ok' ? data.panels.panels : [],
    waterfalls: data.traces?.state === 'ok' ? data.traces.waterfalls : [],
    run: data.run,
    history: data.history ?? [],
  });
  const o = data.outcome;
  const summary = data.run
    ? `score <b id="score">${data.run.score}</b> · time to recover ${fmtTtr(data.run.timeToRecoverMs)} · degraded ${(data.run.degradedShare * 100).toFixed(1)} % of ${data.run.requests} answers · `
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Drill ${esc(data.drill)} — ${o}</title>
<style>${css}</style>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b2733;max-width:1160px}
h1 .v{padding:2px 10px;border-radius:4px;color:#fff}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.INCONCLUSIVE{background:#ef6c00}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccd;padding:4px 8px;text-align:left;vertical-align:top}
tr.pass td:last-child{color:#2e7d32;font-weight:600}tr.fail td:last-child{color:#c62828;font-weight:600}tr.inconclusive td:last-child{color:#ef6c00;font-weight:600}
tr.this-run td{background:#fffde7}
.note{color:#607d8b;margin:2px 0 6px}.panel-error{color:#c62828}
.panel{margin:18px 0}.panel h3{margin:4px 0}.panel h3 small{color:#90a4ae;font-weight:400}
.wf-phase h3{margin:18px 0 6px;text-transform:capitalize}
.waterfall{border:1px solid #dde;border-radius:4px;padding:6px 8px;margin:8px 0;background:#fff}
.waterfall.missing{color:#78909c}
.wf-head{margin-bottom:4px}.wf-mark{color:#b71c1c;font-weight:600;margin:2px 0 6px}
.wf-row{display:grid;grid-template-columns:300px 1fr 200px;align-items:center;font-size:12px;line-height:18px}
.wf-row.marked{background:#ffebee;font-weight:600}
.wf-name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.wf-name small{color:#607d8b}
.wf-track{position:relative;height:12px;background:#f5f7f9}
.wf-bar{position:absolute;top:0;height:12px;background:#64b5f6;border-radius:2px}
.wf-row.error .wf-bar{background:#e57373}.wf-row.marked .wf-bar{outline:2px solid #b71c1c}
.wf-dur{padding-left:8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
</style></head><body>
<h1>Drill ${esc(data.drill)} <span class="v ${o}" id="verdict">${o}</span></h1>
<p>${summary}test id <code>${esc(data.testId)}</code> · started ${esc(data.startedAt)} · k6 exit code ${data.exitCode}</p>
${o === 'INCONCLUSIVE' ? '<p class="note">INCONCLUSIVE: every threshold held, but some were judged over too few samples to mean anything (a p99 over fewer than 100 requests, a rate over fewer than 50). Run the full drill, or a higher RATE.</p>' : ''}
${historyTable(data.run, data.history ?? [])}
<h2>Timeline</h2>
<div id="chart" class="chart" data-rendered="no"></div>
<h2>Panels</h2>
<p class="note">The Resilience and Events dashboards' queries over the drill's window, from Prometheus at the end of the run (every variable "All").</p>
${panelsHtml(data.panels)}
<h2>Waterfalls: the slowest, failed and degraded requests of each phase</h2>
<p class="note">Each bar is a span, indented under its parent; the highlighted span is the one that failed (the deepest with an error) or, when none did, the one with the most time of its own.</p>
${data.traces ? waterfallsHtml(data.traces) : ''}
<h2>Verdict per phase and route</h2>
<table><thead><tr><th>phase</th><th>route</th><th>requests</th><th>success</th><th>degraded</th><th>p95</th><th>p99</th><th>threshold</th><th>verdict</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Run-wide checks</h2>
<table><thead><tr><th>check</th><th>value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>${checks}</tbody></table>
<h2>Invariants (databases)</h2>
<table><thead><tr><th>invariant</th><th>detail</th><th>verdict</th></tr></thead><tbody>${invariants || '<tr><td colspan="3">not checked</td></tr>'}</tbody></table>
<script id="data" type="application/json">${json}</script>
<script>${js}</script>
<script>${client}</script>
</body></html>
`;
}
