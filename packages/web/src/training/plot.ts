/** A small SVG line plot for the panels (a few hundred points, redrawn as a run reports). */

export interface Series {
  label: string;
  colour: string;
  points: [number, number][];
  /** Dots at the points (few points: an epoch's accuracy). */
  dots?: boolean;
}

const SVG = 'http://www.w3.org/2000/svg';
const W = 480,
  H = 220,
  LEFT = 48,
  BOTTOM = 32,
  TOP = 12,
  RIGHT = 12;

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Means of `values` in at most `n` equal runs: the x of each is its run's last index (from 1). */
export function downsample(values: readonly number[], n: number): [number, number][] {
  const size = Math.max(1, Math.ceil(values.length / n));
  const out: [number, number][] = [];
  for (let i = 0; i < values.length; i += size) {
    const run = values.slice(i, i + size);
    out.push([i + run.length, run.reduce((a, b) => a + b, 0) / run.length]);
  }
  return out;
}

const tick = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Number(v.toPrecision(2)).toString());

/** Draws `series` into `svg` (replacing what it held), with axes and a legend. */
export function drawPlot(svg: SVGSVGElement, series: Series[], axes: { x: string; y: string; yMin?: number; yMax?: number; xMax?: number }): void {
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.replaceChildren();
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, axes.xMax ?? 1, ...all.map((p) => p[0]));
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const yMin = axes.yMin ?? Math.min(0, ...ys);
  const yMax = axes.yMax ?? Math.max(yMin + 1e-9, ...ys);
  const x = (v: number) => LEFT + (v / xMax) * (W - LEFT - RIGHT);
  const y = (v: number) => H - BOTTOM - ((v - yMin) / (yMax - yMin)) * (H - BOTTOM - TOP);
  svg.append(el('rect', { x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - BOTTOM - TOP, fill: 'none', stroke: '#8a8a8a' }));
  for (const v of [yMin, (yMin + yMax) / 2, yMax])
    svg.append(el('text', { x: LEFT - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#1b1b1b' }, tick(v)));
  for (const v of [0, xMax / 2, xMax])
    svg.append(el('text', { x: x(v), y: H - BOTTOM + 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#1b1b1b' }, tick(v)));
  svg.append(el('text', { x: (LEFT + W - RIGHT) / 2, y: H - 4, 'text-anchor': 'middle', 'font-size': 12, fill: '#1b1b1b' }, axes.x));
  svg.append(
    el(
      'text',
      { x: 12, y: (TOP + H - BOTTOM) / 2, 'text-anchor': 'middle', 'font-size': 12, fill: '#1b1b1b', transform: `rotate(-90 12 ${(TOP + H - BOTTOM) / 2})` },
      axes.y,
    ),
  );
  series.forEach((s, i) => {
    const shown = s.points.filter((p) => Number.isFinite(p[1]));
    if (shown.length)
      svg.append(
        el('polyline', {
          points: shown.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: s.colour,
          'stroke-width': 1.5,
        }),
      );
    if (s.dots) for (const p of shown) svg.append(el('circle', { cx: x(p[0]), cy: y(p[1]), r: 3, fill: s.colour }));
    svg.append(el('text', { x: W - RIGHT - 4, y: TOP + 14 + 14 * i, 'text-anchor': 'end', 'font-size': 11, fill: s.colour }, s.label));
  });
}
