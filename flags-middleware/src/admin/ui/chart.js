// Per-arm figures over time, as small inline SVG charts. The server keeps
// cumulative counters; the page keeps the last few minutes of samples and
// charts what happened between two of them.

import { h, svg, percent, count } from './dom.js';

const KEEP = 60; // samples (3 minutes at one every 3 s)
const W = 300;
const H = 90;
const PAD = 14;

export class Series {
  constructor() {
    this.samples = [];
    this.armIndex = new Map();
  }

  // `counters` is the flag's `{arm: {requests, errors, p95_ms,
  // latency_buckets, latency_bounds_ms}}`, every count cumulative.
  add(counters, at) {
    this.samples.push({ at, counters: counters || {} });
    if (this.samples.length > KEEP) this.samples.shift();
    for (const arm of Object.keys(counters || {})) {
      if (!this.armIndex.has(arm)) this.armIndex.set(arm, this.armIndex.size);
    }
  }

  // Per arm, one point per interval between samples.
  points(arm, metric) {
    const out = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1].counters[arm] || { requests: 0, errors: 0 };
      const b = this.samples[i].counters[arm];
      if (!b) { out.push(null); continue; }
      const req = Math.max(0, b.requests - a.requests);
      const err = Math.max(0, b.errors - a.errors);
      if (metric === 'requests') out.push(req);
      else if (metric === 'errors') out.push(err);
      else if (metric === 'rate') out.push(req > 0 ? err / req : null);
      else out.push(p95Between(a, b));
    }
    return out;
  }
}

// The p95 of the requests between two reads: the difference of their
// cumulative histograms, read at the bucket where 95% of them are reached
// (its upper bound; past the last bound, the last bound). Without buckets
// (an older server), the p95 since start.
function p95Between(a, b) {
  const bounds = b.latency_bounds_ms;
  const now = b.latency_buckets;
  if (!Array.isArray(now) || !Array.isArray(bounds)) {
    return b.p95_ms === null || b.p95_ms === undefined ? null : b.p95_ms;
  }
  const before = Array.isArray(a.latency_buckets) ? a.latency_buckets : [];
  const delta = now.map((n, i) => Math.max(0, n - (before[i] || 0)));
  const total = delta.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(0.95 * total));
  let seen = 0;
  for (let i = 0; i < delta.length; i++) {
    seen += delta[i];
    if (seen >= rank) return i < bounds.length ? bounds[i] : bounds[bounds.length - 1];
  }
  return bounds[bounds.length - 1];
}

const METRICS = [
  ['requests', 'Requests per interval', count],
  ['errors', '5xx per interval', count],
  ['rate', 'Error rate', (v) => percent(v)],
  ['p95', 'p95 latency (ms, per interval)', (v) => (v === null ? '–' : v + ' ms')],
];

function panel(series, [metric, title, fmt]) {
  const arms = [...series.armIndex.keys()];
  const lines = arms.map((arm) => [arm, series.points(arm, metric)]);
  let max = 0;
  let longest = 0;
  for (const [, pts] of lines) {
    longest = Math.max(longest, pts.length);
    for (const v of pts) if (v !== null && v > max) max = v;
  }
  if (metric === 'rate') max = Math.max(max, 0.01);
  if (max === 0) max = 1;
  // The chart fills from the left until it holds KEEP samples.
  const slots = Math.max(5, longest - 1);
  const x = (i) => PAD + ((W - PAD * 2) * i) / slots;
  const y = (v) => H - PAD - ((H - PAD * 2) * v) / max;
  const shapes = [
    svg('line', { class: 'grid', x1: PAD, x2: W - PAD, y1: H - PAD, y2: H - PAD }),
    svg('line', { class: 'grid', x1: PAD, x2: W - PAD, y1: PAD, y2: PAD }),
  ];
  for (const [arm, pts] of lines) {
    const cls = 'series arm' + (series.armIndex.get(arm) % 6);
    let run = [];
    const flush = () => {
      if (run.length === 1) run.push(run[0]);
      if (run.length > 1) shapes.push(svg('polyline', { class: cls, points: run.join(' ') }));
      run = [];
    };
    pts.forEach((v, i) => {
      if (v === null) flush();
      else run.push(x(i).toFixed(1) + ',' + y(v).toFixed(1));
    });
    flush();
  }
  const latest = lines.map(([arm, pts]) => arm + ' ' + fmt(pts.length ? pts[pts.length - 1] : null)).join(', ');
  return h('figure', { class: 'chart', 'data-metric': metric },
    h('h3', {}, title, h('span', { class: 'muted', text: ' (top: ' + fmt(max) + ')' })),
    svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img', 'aria-label': title + ': ' + (latest || 'no data yet') }, shapes));
}

export function charts(series) {
  const arms = [...series.armIndex.keys()];
  const legend = h('div', { class: 'legend' }, arms.length
    ? arms.map((arm) => h('span', { class: 'arm' + (series.armIndex.get(arm) % 6) }, h('span', { class: 'swatch' }), h('span', { class: 'label', text: arm })))
    : h('span', { class: 'muted', text: 'No requests through the layer yet.' }));
  return [legend, h('div', { class: 'charts' }, METRICS.map((m) => panel(series, m)))];
}
