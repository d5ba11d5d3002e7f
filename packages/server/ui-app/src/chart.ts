// A line chart as SVG: the last minutes of one series, its maximum and current value.

import { h } from './dom.js';

const svgNs = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const span = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export interface Point {
  t: number;
  v: number;
}

/** A chart of `points` over at most the `windowMs` before `now` (less while there is less data); `unit` formats values. */
export function lineChart(title: string, points: Point[], maxWindowMs: number, now: number, unit: (v: number) => string): HTMLElement {
  const windowMs = Math.min(maxWindowMs, Math.max(30_000, points.length > 0 ? now - points[0].t : 0));
  const w = 600;
  const ht = 120;
  const max = Math.max(...points.map((p) => p.v), 0);
  const top = max > 0 ? max * 1.1 : 1;
  const last = points[points.length - 1];
  const current = last === undefined ? 'no data yet' : unit(last.v);
  const chart = svg('svg', { viewBox: `0 0 ${w} ${ht}`, preserveAspectRatio: 'none', class: 'chart', role: 'img', 'aria-label': `${title}: now ${current}, highest ${unit(max)} in the last ${span(windowMs)}` });
  for (const f of [0.25, 0.5, 0.75]) chart.append(svg('line', { x1: 0, x2: w, y1: ht * f, y2: ht * f, class: 'grid' }));
  if (points.length > 1) {
    const xy = points.map((p) => `${(((p.t - (now - windowMs)) / windowMs) * w).toFixed(1)},${(ht - (p.v / top) * ht).toFixed(1)}`);
    chart.append(svg('polyline', { points: xy.join(' '), class: 'series', 'vector-effect': 'non-scaling-stroke' }));
  }
  return h(
    'figure',
    { class: 'chart-box' },
    h('figcaption', {}, h('strong', {}, title), h('span', { class: 'now' }, current), h('span', { class: 'muted' }, ` max ${unit(max)} · last ${span(windowMs)}`)),
    chart,
  );
}
