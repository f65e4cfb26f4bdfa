/** `backprop compare RUN...`: any run directories side by side, as a table and a figure of their curves. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { writeFileAtomic } from '@backprop/mlp';
import { compareSpec, renderSvg } from '../experiments/figures.ts';
import { readProgress } from '../experiments/runs.ts';
import { validateConfig, type RunConfig } from '../run/config.ts';
import { metricText, pct, table } from '../format.ts';

export const compareOptions = (y: Argv) =>
  y
    .positional('runs', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: 'run directories (of backprop train, or inside a directory of backprop experiment)',
    })
    .option('out', {
      type: 'string',
      alias: 'figure',
      describe: 'where to write the figure (an SVG file, or a directory for compare.svg)',
      defaultDescription: 'compare.svg beside the runs',
    });

type Args = Awaited<ReturnType<ReturnType<typeof compareOptions>['parseAsync']>>;

/** A setting as a cell: a model file by its name (its path and hash are in config.json). */
const show = (v: unknown) =>
  v === undefined ? '-' : Array.isArray(v) ? v.join('-') : typeof v === 'object' && v !== null && 'file' in v ? basename(String(v.file)) : String(v);

/**
 * Where the figure goes: where --out says (into it, as compare.svg, when it is a directory), else
 * beside the runs, in the directory that holds them all; never into the current directory unasked.
 */
function figurePath(dirs: string[], out: string | undefined): string {
  if (out !== undefined) return existsSync(out) && statSync(out).isDirectory() ? join(out, 'compare.svg') : out;
  const parents = new Set(dirs.map((d) => dirname(resolve(d))));
  if (parents.size > 1)
    throw new Error(`the runs are in ${parents.size} different directories, so there is no place beside them for the figure: name it with --out FILE.svg`);
  const [parent] = parents,
    given = dirname(dirs[0]);
  return join(resolve(given) === parent ? given : parent, 'compare.svg');
}

export async function compareCommand(args: Args): Promise<number> {
  const runs = args.runs.map(String).map((dir) => {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`${dir}: not a run directory (no config.json); give directories made by backprop train or backprop experiment`);
    let saved: { config?: unknown };
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message})`);
    }
    return { name: dir, config: validateConfig(saved?.config, path), ...readProgress(dir) };
  });
  const figure = figurePath(args.runs.map(String), args.out); // before anything is printed
  // The settings that tell the runs apart (all of the usual ones when they agree on everything).
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))] as (keyof RunConfig)[];
  const differing = keys.filter((k) => new Set(runs.map((r) => JSON.stringify(r.config[k]))).size > 1);
  const shown = differing.length ? differing : (['layers', 'activation', 'loss', 'lr', 'epochs'] as (keyof RunConfig)[]);
  // A run on a subset of the data says so, even when every run has the same.
  if (!shown.includes('subset') && runs.some((r) => r.config.subset !== undefined)) shown.push('subset');
  // A regression run's metric (MSE or MAE) is no accuracy: the two kinds are not put on one scale.
  const regression = runs.filter((r) => r.epochs.some((e) => e.metric));
  if (regression.length && regression.length < runs.length) {
    const other = runs.find((r) => !regression.includes(r))!;
    throw new Error(
      `${regression[0].name} is a regression run (its metric is ${regression[0].epochs[0].metric!.toUpperCase()}) and ${other.name} a classification run (accuracy); compare runs of one kind`,
    );
  }
  const cell = (value: number | undefined, metric: 'mse' | 'mae' | undefined) => (metric ? metricText({ [metric]: value ?? null }) : pct(value));
  const rows = runs.map((r) => {
    const e = r.epochs.at(-1);
    const status = r.status === 'partial' ? `partial (${r.epochs.length}/${r.config.epochs})` : r.status;
    return [r.name, ...shown.map((k) => show(r.config[k])), String(r.epochs.length), cell(e?.train, e?.metric), cell(e?.test, e?.metric), status];
  });
  const headers = regression.length ? ['train', 'test'] : ['train accuracy', 'test accuracy'];
  console.log(table(['run', ...shown, 'epochs', ...headers, 'state'], rows));
  writeFileAtomic(figure, await renderSvg(compareSpec(runs)));
  console.log(`\nfigure in ${figure}`);
  return 0;
}
