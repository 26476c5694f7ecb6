/**
 * The drill report page: the verdict table, the invariants and a timeline
 * chart (success rate, p50/p95 latency, request rate) with the phases and
 * the injected faults shaded. One self-contained HTML file: the data is
 * embedded as JSON and drawn as SVG by a small script, no dependencies.
 */
import type { InvariantReport } from './invariants.ts';
import type { Timeline } from './timeline.ts';
import type { Verdict } from './verdict.ts';

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

export interface ReportData {
  drill: string;
  testId: string;
  pass: boolean;
  startedAt: string;
  verdict: Verdict;
  invariants?: InvariantReport;
  timeline: Timeline;
  faults: FaultWindow[];
  phases: PhaseWindow[];
  exitCode: number | null;
}

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

export function reportHtml(data: ReportData): string {
  const rows = data.verdict.rows
    .map(
      (r) =>
        `<tr class="${r.thresholds.length === 0 ? '' : r.pass ? 'pass' : 'fail'}"><td>${esc(r.phase)}</td><td>${esc(r.route)}</td><td>${r.requests}</td><td>${r.served === undefined ? '—' : `${(r.served * 100).toFixed(2)} %`}</td><td>${r.degraded}</td><td>${r.p95 === undefined ? '—' : Math.round(r.p95)} ms</td><td>${r.p99 === undefined ? '—' : Math.round(r.p99)} ms</td><td>${esc(r.thresholds.join('; ') || '—')}</td><td>${r.thresholds.length === 0 ? '·' : r.pass ? 'PASS' : 'FAIL'}</td></tr>`,
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
  // </script> inside JSON would end the script element early.
  const json = JSON.stringify({
    timeline: data.timeline,
    faults: data.faults,
    phases: data.phases,
  }).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Drill ${esc(data.drill)} — ${data.pass ? 'PASS' : 'FAIL'}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b2733}
h1 .v{padding:2px 10px;border-radius:4px;color:#fff}
.PASS{background:#2e7d32}.FAIL{background:#c62828}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccd;padding:4px 8px;text-align:left}
tr.pass td:last-child{color:#2e7d32;font-weight:600}tr.fail td:last-child{color:#c62828;font-weight:600}
#chart svg{border:1px solid #ccd;background:#fff}.legend span{margin-right:16px}
</style></head><body>
<h1>Drill ${esc(data.drill)} <span class="v ${data.pass ? 'PASS' : 'FAIL'}">${data.pass ? 'PASS' : 'FAIL'}</span></h1>
<p>test id <code>${esc(data.testId)}</code> · started ${esc(data.startedAt)} · k6 exit code ${data.exitCode}</p>
<h2>Timeline</h2>
<div class="legend"><span style="color:#2e7d32">■ success rate</span><span style="color:#1565c0">■ p95 latency</span><span style="color:#90a4ae">■ p50 latency</span><span style="color:#c62828">▨ fault</span></div>
<div id="chart" data-rendered="no"></div>
<h2>Verdict per phase and route</h2>
<table><thead><tr><th>phase</th><th>route</th><th>requests</th><th>success</th><th>degraded</th><th>p95</th><th>p99</th><th>threshold</th><th>verdict</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Run-wide checks</h2>
<table><thead><tr><th>check</th><th>value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>${checks}</tbody></table>
<h2>Invariants (databases)</h2>
<table><thead><tr><th>invariant</th><th>detail</th><th>verdict</th></tr></thead><tbody>${invariants || '<tr><td colspan="3">not checked</td></tr>'}</tbody></table>
<script id="data" type="application/json">${json}</script>
<script>
(function () {
  var d = JSON.parse(document.getElementById('data').textContent);
  var pts = d.timeline.points, W = 900, H = 320, L = 50, R = 60, T = 10, B = 30;
  var n = Math.max(1, pts.length - 1);
  var maxLat = 1;
  pts.forEach(function (p) { if (p.p95 > maxLat) maxLat = p.p95; });
  maxLat = Math.ceil(maxLat / 100) * 100;
  var x = function (t) { return L + (t / n) * (W - L - R); };
  var yS = function (v) { return T + (1 - v) * (H - T - B); };
  var yL = function (v) { return T + (1 - v / maxLat) * (H - T - B); };
  var ns = 'http://www.w3.org/2000/svg';
  var svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  function el(name, attrs, text) {
    var e = document.createElementNS(ns, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e); return e;
  }
  var colours = { steady: '#f1f8e9', fault: '#fff3e0', grace: '#fafafa', recovery: '#e3f2fd' };
  d.phases.forEach(function (p) {
    el('rect', { class: 'phase', x: x(p.from), y: T, width: Math.max(0, x(Math.min(p.to, n)) - x(p.from)), height: H - T - B, fill: colours[p.name] || '#f5f5f5' });
    el('text', { x: x(p.from) + 4, y: T + 12, 'font-size': 11, fill: '#607d8b' }, p.name);
  });
  d.faults.forEach(function (f) {
    var to = f.to === undefined ? n : f.to;
    el('rect', { class: 'fault', x: x(f.from), y: T, width: Math.max(2, x(Math.min(to, n)) - x(f.from)), height: H - T - B, fill: '#c62828', 'fill-opacity': 0.12, stroke: '#c62828', 'stroke-dasharray': '4 3' });
    el('text', { x: x(f.from) + 4, y: H - B - 6, 'font-size': 11, fill: '#c62828' }, f.name + ' ' + f.target);
  });
  function line(cls, colour, get, y) {
    var dd = '', pen = false;
    pts.forEach(function (p) {
      var v = get(p);
      if (v === undefined) { pen = false; return; }
      dd += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(v).toFixed(1); pen = true;
    });
    if (dd) el('path', { class: cls, d: dd, fill: 'none', stroke: colour, 'stroke-width': 2 });
  }
  line('latency-p50', '#90a4ae', function (p) { return p.p50; }, yL);
  line('latency-p95', '#1565c0', function (p) { return p.p95; }, yL);
  line('success', '#2e7d32', function (p) { return p.success; }, yS);
  el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#455a64' });
  el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#2e7d32' });
  el('line', { x1: W - R, y1: T, x2: W - R, y2: H - B, stroke: '#1565c0' });
  [0, 0.5, 1].forEach(function (v) { el('text', { x: L - 6, y: yS(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, Math.round(v * 100) + '%'); });
  [0, maxLat / 2, maxLat].forEach(function (v) { el('text', { x: W - R + 6, y: yL(v) + 4, 'font-size': 11 }, Math.round(v) + ' ms'); });
  for (var t = 0; t <= n; t += 10) el('text', { x: x(t), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, t + ' s');
  var chart = document.getElementById('chart');
  chart.appendChild(svg);
  chart.setAttribute('data-rendered', pts.length > 0 ? 'yes' : 'empty');
})();
</script>
</body></html>
`;
}
