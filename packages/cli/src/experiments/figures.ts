/**
 * Figures as SVG, drawn by vega-lite and vega: loss against iterations, and train or test accuracy
 * against epochs. One run at one seed is drawn as the paper draws it (the raw loss beside a
 * moving average); over several seeds each run is its mean with a band of one standard deviation
 * (vega-lite's errorband).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Figure } from './define.ts';
import type { RunGroup } from './runs.ts';

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Every k-th iteration (at most 2,000 points) of the loss and of its moving average over 1% of the run. */
export function lossPoints(losses: number[]): { iteration: number; raw: number; smoothed: number }[] {
  const n = losses.length,
    k = Math.max(1, Math.ceil(n / 2000)),
    w = Math.max(1, Math.round(n / 100));
  const out = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += losses[i] - (i >= w ? losses[i - w] : 0);
    if (i % k === 0) out.push({ iteration: i + 1, raw: losses[i], smoothed: sum / Math.min(i + 1, w) });
  }
  return out;
}

/** A line per series: its mean over the seeds, with a band of one standard deviation when there are several. */
function meanWithBand(
  x: { field: string; title: string },
  y: { field: string; title: string; format?: string },
  seeds: number,
  values: object[],
  points: boolean,
): TopLevelSpec {
  const encoding = {
    x: { field: x.field, type: 'quantitative' as const, title: x.title, ...(x.field === 'epoch' && { axis: { tickMinStep: 1 } }) },
    color: { field: 'run', type: 'nominal' as const, title: null, legend: { labelLimit: 400 } },
  };
  const yAxis = { title: y.title, scale: { zero: false }, ...(y.format && { axis: { format: y.format } }) };
  const line = {
    mark: { type: 'line' as const, point: points, strokeWidth: points ? 2 : 1.5 },
    encoding: { ...encoding, y: { aggregate: 'mean' as const, field: y.field, type: 'quantitative' as const, ...yAxis } },
  };
  if (seeds === 1) return { $schema: schema, width: 560, height: 300, data: { values }, ...line };
  const band = {
    mark: { type: 'errorband' as const, extent: 'stdev' as const, opacity: 0.25 },
    encoding: { ...encoding, y: { field: y.field, type: 'quantitative' as const, ...yAxis } },
  };
  return { $schema: schema, width: 560, height: 300, data: { values }, layer: [band, line] };
}

/** The vega-lite spec of a figure of `groups`. */
export function figureSpec(figure: Figure, groups: RunGroup[]): TopLevelSpec {
  const seeds = Math.max(...groups.map((g) => g.runs.length));
  const title = seeds > 1 ? `${figure.title} (mean and ±1 sd over ${seeds} seeds)` : figure.title;
  if (figure.kind === 'loss' && groups.length === 1 && seeds === 1) {
    // One run: as the paper shows it, the raw loss (an honest sample) and its moving average.
    const label = groups[0].label;
    const values = lossPoints(groups[0].runs[0].losses).flatMap((p) => [
      { iteration: p.iteration, loss: p.raw, series: `${label}, raw` },
      { iteration: p.iteration, loss: p.smoothed, series: `${label}, smoothed` },
    ]);
    return {
      $schema: schema,
      title: figure.title,
      width: 560,
      height: 300,
      data: { values },
      mark: { type: 'line', strokeWidth: 1 },
      encoding: {
        x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
        y: { field: 'loss', type: 'quantitative', title: 'training loss (mini-batch)' },
        color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#9ecae1', '#08519c', '#fdae6b', '#a63603'] } },
      },
    };
  }
  if (figure.kind === 'loss') {
    const values = groups.flatMap((g) =>
      g.runs.flatMap((d) => lossPoints(d.losses).map((p) => ({ iteration: p.iteration, loss: p.smoothed, run: g.label, seed: d.run.seed }))),
    );
    return {
      title,
      ...meanWithBand(
        { field: 'iteration', title: 'iteration' },
        { field: 'loss', title: 'training loss (moving average over 1% of the run)' },
        seeds,
        values,
        false,
      ),
    } as TopLevelSpec;
  }
  const split = figure.kind === 'train-accuracy' ? 'train' : 'test';
  const values = groups.flatMap((g) => g.runs.flatMap((d) => d.epochs.map((e) => ({ epoch: e.epoch, accuracy: e[split], run: g.label, seed: d.run.seed }))));
  return {
    title,
    ...meanWithBand({ field: 'epoch', title: 'epoch' }, { field: 'accuracy', title: `${split} accuracy`, format: '.1%' }, seeds, values, true),
  } as TopLevelSpec;
}

/** Runs side by side (`backprop compare`): test accuracy against epochs above, the smoothed training loss below. */
export function compareSpec(runs: { name: string; epochs: { epoch: number; test: number; metric?: 'mse' | 'mae' }[]; losses: number[] }[]): TopLevelSpec {
  const accuracy = runs.flatMap((r) => r.epochs.map((e) => ({ epoch: e.epoch, accuracy: e.test, run: r.name })));
  // Regression runs (compare refuses a mix): their test MSE or MAE in accuracy's place.
  const metric = runs.flatMap((r) => r.epochs).find((e) => e.metric)?.metric;
  const loss = runs.flatMap((r) => lossPoints(r.losses).map((p) => ({ iteration: p.iteration, loss: p.smoothed, run: r.name })));
  const color = { field: 'run', type: 'nominal' as const, title: null, legend: { labelLimit: 400 } };
  return {
    $schema: schema,
    vconcat: [
      {
        title: metric ? `test ${metric.toUpperCase()}` : 'test accuracy',
        width: 560,
        height: 240,
        data: { values: accuracy },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
          y: {
            field: 'accuracy',
            type: 'quantitative',
            title: metric ? `test ${metric.toUpperCase()}` : 'accuracy',
            scale: { zero: false },
            axis: metric ? {} : { format: '.1%' },
          },
          color,
        },
      },
      {
        title: 'training loss (moving average over 1% of the run)',
        width: 560,
        height: 240,
        data: { values: loss },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x: { field: 'iteration', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' }, color },
      },
    ],
  };
}

/** Renders a vega-lite spec to SVG. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega is loaded here, when a figure is drawn, not by every command that reads results.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

/** A figure of `groups` as SVG. */
export const figureSvg = (figure: Figure, groups: RunGroup[]) => renderSvg(figureSpec(figure, groups));
