// The drill report's charts, run in the browser: uPlot (inlined next to this
// script) draws the timeline and each dashboard panel from the JSON embedded
// in the page (#data), with the phases and the fault windows shaded. Kept
// as plain browser JavaScript and inlined at report time (report-html.ts),
// so the report works offline.
(() => {
  const d = JSON.parse(document.getElementById('data').textContent);
  const PHASE_FILL = {
    steady: 'rgba(46,125,50,0.06)',
    fault: 'rgba(239,108,0,0.08)',
    grace: 'rgba(120,120,120,0.06)',
    recovery: 'rgba(21,101,192,0.06)',
  };
  const WIDTH = Math.min(1100, document.body.clientWidth - 40);

  /** Shades phases and faults behind the series, and names them. */
  function shade(u) {
    const { ctx, bbox } = u;
    const x = (s) => u.valToPos(s, 'x', true);
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    for (const p of d.phases) {
      const x0 = Math.max(bbox.left, x(p.from));
      const x1 = Math.min(bbox.left + bbox.width, x(p.to));
      if (x1 <= x0) continue;
      ctx.fillStyle = PHASE_FILL[p.name] || 'rgba(0,0,0,0.03)';
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      ctx.fillStyle = '#607d8b';
      ctx.fillText(p.name, x0 + 4, bbox.top + 12 * devicePixelRatio);
    }
    for (const f of d.faults) {
      const x0 = Math.max(bbox.left, x(f.from));
      const x1 = Math.min(bbox.left + bbox.width, x(f.to === undefined ? d.end : f.to));
      ctx.fillStyle = 'rgba(198,40,40,0.12)';
      ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
      ctx.strokeStyle = '#c62828';
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
      ctx.setLineDash([]);
      ctx.fillStyle = '#c62828';
      ctx.fillText(`${f.name} ${f.target}`, x0 + 4, bbox.top + bbox.height - 6 * devicePixelRatio);
    }
    ctx.restore();
  }

  const xAxis = { label: 'seconds since the first request', values: (_u, vals) => vals.map((v) => `${v} s`) };
  const xScale = { time: false, range: [0, Math.max(1, d.end)] };

  function timeline() {
    const el = document.getElementById('chart');
    const pts = d.timeline.points;
    const data = [
      pts.map((p) => p.t),
      pts.map((p) => (p.success === undefined ? null : p.success)),
      pts.map((p) => (p.p50 === undefined ? null : p.p50)),
      pts.map((p) => (p.p95 === undefined ? null : p.p95)),
      pts.map((p) => p.requests),
    ];
    const chart = new uPlot(
      {
        width: WIDTH,
        height: 320,
        scales: {
          x: xScale,
          pct: { range: [0, 1.05] },
          ms: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
          rps: {},
        },
        axes: [
          xAxis,
          {
            scale: 'pct',
            label: 'served',
            size: 60,
            labelSize: 20,
            values: (_u, vals) => vals.map((v) => `${Math.round(v * 100)} %`),
          },
          {
            scale: 'ms',
            side: 1,
            label: 'latency',
            size: 70,
            labelSize: 20,
            grid: { show: false },
            values: (_u, vals) => vals.map((v) => `${v} ms`),
          },
        ],
        series: [
          { label: 't' },
          {
            label: 'success rate',
            scale: 'pct',
            stroke: '#2e7d32',
            width: 2,
            value: (_u, v) => (v == null ? '—' : `${(v * 100).toFixed(1)} %`),
          },
          {
            label: 'p50 latency',
            scale: 'ms',
            stroke: '#90a4ae',
            width: 2,
            value: (_u, v) => (v == null ? '—' : `${Math.round(v)} ms`),
          },
          {
            label: 'p95 latency',
            scale: 'ms',
            stroke: '#1565c0',
            width: 2,
            value: (_u, v) => (v == null ? '—' : `${Math.round(v)} ms`),
          },
          { label: 'requests/s', scale: 'rps', stroke: '#8d6e63', width: 1, dash: [4, 4] },
        ],
        hooks: { drawClear: [shade] },
      },
      data,
      el,
    );
    el.dataset.rendered = pts.length > 0 ? 'yes' : 'empty';
    el.dataset.series = String(chart.series.length - 1);
    el.dataset.faults = String(d.faults.length);
    el.dataset.phases = String(d.phases.length);
  }

  const PALETTE = [
    '#1565c0',
    '#c62828',
    '#2e7d32',
    '#ef6c00',
    '#6a1b9a',
    '#00838f',
    '#ad1457',
    '#5d4037',
    '#9e9d24',
    '#455a64',
  ];

  function unitFormat(unit, valueText) {
    if (valueText) return (v) => (v == null ? '—' : valueText[String(v)] || String(v));
    if (unit === 'percentunit') return (v) => (v == null ? '—' : `${(v * 100).toFixed(1)} %`);
    if (unit === 's') return (v) => (v == null ? '—' : `${Math.round(v * 1000)} ms`);
    const suffix = unit === 'reqps' ? ' req/s' : unit === 'ops' ? ' /s' : '';
    return (v) => (v == null ? '—' : `${Math.round(v * 100) / 100}${suffix}`);
  }

  function panel(p, i) {
    const el = document.getElementById(`panel-${i}`);
    if (!el || p.error || p.series.length === 0) {
      if (el) el.dataset.rendered = 'empty';
      return;
    }
    const fmt = unitFormat(p.unit, p.valueText);
    const states = p.valueText
      ? Object.keys(p.valueText)
          .map(Number)
          .sort((a, b) => a - b)
      : undefined;
    new uPlot(
      {
        width: WIDTH,
        height: states ? 80 + 24 * p.series.length : 220,
        scales: {
          x: xScale,
          y: states
            ? { range: [states[0] - 0.2, states[states.length - 1] + 0.2] }
            : { range: (_u, min, max) => [Math.min(0, min), Math.max(1e-9, max) * 1.1] },
        },
        axes: [
          xAxis,
          states
            ? {
                splits: () => states,
                values: (_u, vals) => vals.map((v) => p.valueText[String(v)] || ''),
                size: 80,
              }
            : { values: (_u, vals) => vals.map((v) => fmt(v)), size: 80 },
          // An empty right axis as wide as the timeline's latency axis, so every chart's x axis lines up.
          {
            side: 1,
            size: 90,
            grid: { show: false },
            ticks: { show: false },
            values: (_u, vals) => vals.map(() => ''),
          },
        ],
        series: [
          { label: 't' },
          ...p.series.map((s, k) => ({
            label: s.label,
            stroke: PALETTE[k % PALETTE.length],
            width: 2,
            value: (_u, v) => fmt(v),
            ...(states ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
          })),
        ],
        hooks: { drawClear: [shade] },
      },
      [p.t, ...p.series.map((s) => s.values)],
      el,
    );
    el.dataset.rendered = 'yes';
  }

  timeline();
  d.panels.forEach(panel);
})();
