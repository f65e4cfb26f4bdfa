/** `backprop compare RUN...`: any run directories side by side, as a table and a figure of their curves. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
      describe: 'run directories (of backprop train, or inside a directory of backprop experiment), or a directory of backprop experiment (all its runs)',
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
  v === undefined
    ? '-'
    : Array.isArray(v)
      ? v.join('-')
      : typeof v === 'object' && v !== null && 'file' in v
        ? [basename(String(v.file)), ...Object.entries((v as { options?: object }).options ?? {}).map(([k, x]) => `${k}=${x}`)].join(' ')
        : String(v);

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

/** A directory of `backprop experiment`'s runs (a sweep's or the paper's): it has sweep.json or overrides.json beside its runs. */
const isRunsDirectory = (dir: string) => existsSync(join(dir, 'sweep.json')) || existsSync(join(dir, 'overrides.json'));

/**
 * The run directories the arguments name: a run directory itself, every run of a directory of
 * experiment runs (a sweep's), in name order; what else such a directory holds (figures/,
 * report.html, sweep.json: what `compare runs/sweep/*` also names) is passed over.
 */
export function runDirectories(given: string[]): string[] {
  const isRun = (dir: string) => existsSync(join(dir, 'config.json'));
  return given.flatMap((dir) => {
    if (isRun(dir)) return [dir];
    if (isRunsDirectory(dir)) {
      const runs = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && isRun(join(dir, e.name)))
        .map((e) => join(dir, e.name))
        .sort();
      if (runs.length === 0) throw new Error(`${dir}: a directory of experiment runs, but none has started yet; run it first (backprop experiment)`);
      return runs;
    }
    if (existsSync(dir) && isRunsDirectory(dirname(resolve(dir)))) return [];
    throw new Error(`${dir}: not a run directory (no config.json); give directories made by backprop train or backprop experiment`);
  });
}

export async function compareCommand(args: Args): Promise<number> {
  const dirs = runDirectories(args.runs.map(String));
  if (dirs.length === 0)
    throw new Error(`${args.runs.join(' ')}: no run directories among them; give directories made by backprop train or backprop experiment`);
  const runs = dirs.map((dir) => {
    const path = join(dir, 'config.json');
    let saved: { config?: unknown };
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message})`);
    }
    return { name: dir, config: validateConfig(saved?.config, path), ...readProgress(dir) };
  });
  const figure = figurePath(dirs, args.out); // before anything is printed
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
