/**
 * The report's trace waterfalls as HTML (no script needed): per phase, each
 * picked request's spans as bars on the request's own time axis, indented by
 * depth, the marked span (the one that failed or took the time) highlighted
 * and named above the waterfall.
 */
import { esc } from './report-escape.ts';
import type { Waterfall } from './traces.ts';

/** What the report knows about traces for this run. */
export type TraceSection =
  | { state: 'no-zipkin'; reason: string }
  | { state: 'ok'; zipkinUrl: string; waterfalls: Waterfall[] };

const fmtMs = (ms: number) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
const PHASES = ['steady', 'fault', 'grace', 'recovery'];

function waterfallHtml(w: Waterfall, zipkinUrl: string): string {
  const r = w.request;
  const head = `<div class="wf-head"><b>${esc(r.route)}</b> ${r.status || 'no answer'} in ${fmtMs(r.ms)} · ${esc(w.why)}${
    r.reason ? ` (${esc(r.reason)})` : ''
  } · at ${r.t.toFixed(1)} s · trace <a href="${esc(zipkinUrl)}/zipkin/traces/${esc(r.traceId)}"><code>${esc(r.traceId)}</code></a></div>`;
  if (w.missing)
    return `<div class="waterfall missing" data-why="${w.why}">${head}<p>${esc(w.missing)}</p></div>`;
  const total = Math.max(...w.spans.map((s) => s.startMs + s.durationMs), 0.001);
  const rows = w.spans
    .map((s) => {
      const left = (s.startMs / total) * 100;
      const width = Math.max(0.4, (s.durationMs / total) * 100);
      const cls = ['wf-row', s.error ? 'error' : '', w.mark?.spanId === s.id ? 'marked' : '']
        .filter(Boolean)
        .join(' ');
      return `<div class="${cls}" data-span="${esc(s.id)}"${s.error ? ` data-error="${esc(s.error)}"` : ''}><span class="wf-name" style="padding-left:${s.depth * 14}px" title="${esc(s.kind ?? '')}">${esc(s.service)} <small>${esc(s.name)}</small></span><span class="wf-track"><span class="wf-bar" style="left:${left.toFixed(2)}%;width:${width.toFixed(2)}%"></span></span><span class="wf-dur">${fmtMs(s.durationMs)}${s.error ? ` · ${esc(s.error)}` : ''}</span></div>`;
    })
    .join('');
  const mark = w.mark ? `<div class="wf-mark">▶ ${esc(w.mark.text)}</div>` : '';
  return `<div class="waterfall" data-why="${w.why}" data-trace="${esc(r.traceId)}">${head}${mark}${rows}</div>`;
}

export function waterfallsHtml(section: TraceSection): string {
  if (section.state === 'no-zipkin')
    return `<p class="no-traces" id="no-traces">No waterfalls: ${esc(section.reason)}</p>`;
  if (section.waterfalls.length === 0)
    return '<p class="no-traces" id="no-traces">No waterfalls: k6 recorded no trace ids for this run.</p>';
  const phases = [...new Set(section.waterfalls.map((w) => w.request.phase))].sort(
    (a, b) => PHASES.indexOf(a) - PHASES.indexOf(b),
  );
  return phases
    .map((phase) => {
      const ws = section.waterfalls.filter((w) => w.request.phase === phase);
      return `<section class="wf-phase" data-phase="${esc(phase)}"><h3>${esc(phase || 'untagged')}</h3>${ws
        .map((w) => waterfallHtml(w, section.zipkinUrl))
        .join('\n')}</section>`;
    })
    .join('\n');
}
