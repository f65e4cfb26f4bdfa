/**
 * From an experiment to the runs to train: every run at every seed, each with the directory it
 * shares with every identical run (of this experiment or another), the overrides of a quick look
 * (--epochs, --subset, --seeds), and which of them a shard (--shard K/N, or auto under SLURM or
 * Kubernetes) takes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { defaultRunConfig, validateConfig, type RunConfig } from '../run/config.ts';
import { MAX_RUNS, tooManyRuns, type Experiment } from './define.ts';

/** One training run of an experiment: a run at a seed. */
export interface PlannedRun {
  experiment: string;
  id: string;
  label: string;
  seed: number;
  config: RunConfig;
  /** Directory name: readable, and unique to the config (identical runs of several experiments share it). */
  key: string;
}

export interface Overrides {
  epochs?: number;
  subset?: number;
  /** Seeds 1..N instead of the experiment's. */
  seeds?: number;
}

const overridesSchema = z
  .object({ epochs: z.number().int().positive().optional(), subset: z.number().int().positive().optional(), seeds: z.number().int().positive().optional() })
  .strict();

/**
 * The overrides (--epochs, --subset, --seeds) the runs in `dir` were made with, from its
 * overrides.json; none (the experiments' own settings) when there is no such file. A corrupt one is
 * named, not ignored.
 */
export function readOverrides(dir: string): Overrides {
  const path = join(dir, 'overrides.json');
  if (!existsSync(path)) return {};
  const fix = "delete it to use the experiments' own settings";
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}); ${fix}`);
  }
  const parsed = overridesSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues[0].path.join('.') || 'the overrides'}: ${parsed.error.issues[0].message}; ${fix}`);
  return parsed.data;
}

/** "epochs 2, subset 400" */
export const describeOverrides = (o: Overrides) =>
  [o.epochs && `epochs ${o.epochs}`, o.subset && `subset ${o.subset}`, o.seeds && `seeds 1-${o.seeds}`].filter(Boolean).join(', ');

/**
 * Runs with other epochs or other data than the experiment's (--epochs, --subset): a quick look, never
 * presented as the experiment's result (--seeds alone runs the experiment's own settings at more seeds).
 */
export const isQuickLook = (o: Overrides) => o.epochs !== undefined || o.subset !== undefined;

/** "subset 3000 (the first 3000 training images and the first 500 test images)": --subset tests on N/6 images. */
export const describeSubset = (subset: number) => `subset ${subset} (the first ${subset} training images and the first ${Math.ceil(subset / 6)} test images)`;

/** The seeds an experiment runs with these overrides. */
export const seedsOf = (e: Experiment, o: Overrides) => (o.seeds ? Array.from({ length: o.seeds }, (_, i) => i + 1) : e.seeds);

/** Every run of `e` at every seed, run by run (a run's seeds together). */
export function planRuns(e: Experiment, overrides: Overrides = {}): PlannedRun[] {
  const { epochs, subset } = overrides;
  const quick = Object.fromEntries(Object.entries({ epochs, subset }).filter(([, v]) => v !== undefined));
  // --seeds is counted before its seeds are made.
  if (overrides.seeds && e.runs.length * overrides.seeds > MAX_RUNS) {
    throw new Error(
      `--seeds ${overrides.seeds}: ${e.where}: ${tooManyRuns(e.runs.length * overrides.seeds, `${e.runs.length.toLocaleString('en-US')} runs x ${overrides.seeds.toLocaleString('en-US')} seeds`, 'run fewer seeds')}`,
    );
  }
  const seeds = seedsOf(e, overrides);
  if (e.modelFile !== undefined && e.model === undefined) throw new Error(`${e.where}: the model file ${e.modelFile} was not read (openSweepModel)`);
  const { layers: _l, activation: _a, init: _i, ...modelDefaults } = defaultRunConfig;
  return e.runs.flatMap((r) =>
    seeds.map((seed) => {
      const { model: baseOptions, ...base } = e.base,
        { model: runOptions, ...set } = r.set;
      let settings: Record<string, unknown> = { ...defaultRunConfig, epochs: 10, ...base, ...set, ...quick, seed };
      if (e.model) {
        // A model file's run, as `backprop train --model FILE` makes it: the file's own loss unless one is named.
        const options = modelOptionsOf(baseOptions, runOptions);
        const loss = settings.loss === defaultRunConfig.loss && !('loss' in base) && !('loss' in set) && e.model.ownLoss ? 'model' : settings.loss;
        settings = {
          ...modelDefaults,
          epochs: 10,
          ...base,
          ...set,
          ...quick,
          seed,
          loss,
          model: { file: e.model.file, sha256: e.model.sha256, ...(options && { options }) },
        };
      }
      const config = validateConfig(settings, `${e.where}: run '${r.id || 'base'}'`);
      return { experiment: e.name, id: r.id, label: r.label, seed, config, key: runKey(config) };
    }),
  );
}

/** The options a run gives the model file (the base's, then the run's and the grid point's), undefined when none. */
export function modelOptionsOf(...given: unknown[]): Record<string, number | string | boolean> | undefined {
  const options = Object.assign({}, ...given.filter((o) => o !== undefined));
  return Object.keys(options).length ? options : undefined;
}

/**
 * The settings in a canonical form (keys sorted), to hash and to compare. A model file counts by
 * its SHA-256 and options, not its path: shards run on machines where the file is elsewhere make
 * the same runs.
 */
export const canonical = (c: RunConfig) =>
  JSON.stringify(
    Object.keys(c)
      .sort()
      .map((k) => [k, k === 'model' && c.model ? { sha256: c.model.sha256, options: sortedKeys(c.model.options) } : c[k as keyof RunConfig]]),
  );

const sortedKeys = (o: Record<string, unknown> | undefined) => o && Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * `800x100-tanh-hinge-lr0.01-e10-1a2b3c4d`: the hidden layers, activation, loss, rate, epochs,
 * subset, seed (when not 1), and a hash of every setting; a model file's run has the file's name and
 * its options instead of the layers and activation (`attention-width8-model-lr0.1-e2-1a2b3c4d`).
 */
export function runKey(c: RunConfig): string {
  const hash = createHash('sha256').update(canonical(c)).digest('hex').slice(0, 8);
  const subset = c.subset ? `-n${c.subset}` : '';
  const seed = c.seed !== 1 ? `-s${c.seed}` : '';
  const network =
    c.model === undefined
      ? `${c.layers.slice(1, -1).join('x')}-${c.activation}`
      : [basename(c.model.file, extname(c.model.file)), ...Object.entries(c.model.options ?? {}).map(([k, v]) => `${k}${v}`)]
          .join('-')
          .replace(/[^\w.-]+/g, '_')
          .slice(0, 60);
  return `${network}-${c.loss}-lr${c.lr}-e${c.epochs}${subset}${seed}-${hash}`;
}

/**
 * `K/N`: the runs whose index i (in plan order) has i mod N = K - 1. `auto`: K and N from the
 * scheduler running this process: a SLURM job array (SLURM_ARRAY_TASK_ID, _MIN, _STEP and _COUNT:
 * `--array=0-3` and `--array=1-4` both give shards 1/4 to 4/4) or a Kubernetes Indexed Job
 * (JOB_COMPLETION_INDEX, from 0, and BACKPROP_SHARD_COUNT, which the Job sets to its completions).
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): { k: number; n: number } {
  if (text === 'auto') return autoShard(env);
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const k = Number(m?.[1]),
    n = Number(m?.[2]);
  if (!m || n < 1 || k < 1 || k > n)
    throw new Error(`--shard ${text === '' ? '""' : text}: expected K/N with 1 <= K <= N, e.g. 1/4, or auto (under SLURM or a Kubernetes Indexed Job)`);
  return { k, n };
}

function autoShard(env: NodeJS.ProcessEnv): { k: number; n: number } {
  const int = (name: string) => {
    const v = env[name];
    if (v === undefined || !/^\d+$/.test(v)) return undefined;
    return Number(v);
  };
  let k: number | undefined, n: number | undefined, from: string;
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = int('SLURM_ARRAY_TASK_ID'),
      min = int('SLURM_ARRAY_TASK_MIN') ?? 0,
      step = int('SLURM_ARRAY_TASK_STEP') ?? 1;
    n = int('SLURM_ARRAY_TASK_COUNT');
    k = id === undefined ? undefined : (id - min) / step + 1;
    from = `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}, SLURM_ARRAY_TASK_COUNT=${env.SLURM_ARRAY_TASK_COUNT}`;
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    const index = int('JOB_COMPLETION_INDEX');
    k = index === undefined ? undefined : index + 1;
    n = int('BACKPROP_SHARD_COUNT');
    if (env.BACKPROP_SHARD_COUNT === undefined)
      throw new Error(
        "--shard auto: JOB_COMPLETION_INDEX is set but BACKPROP_SHARD_COUNT is not; set it to the Job's completions (see examples/kubernetes-job.yaml)",
      );
    from = `JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}, BACKPROP_SHARD_COUNT=${env.BACKPROP_SHARD_COUNT}`;
  } else {
    throw new Error(
      '--shard auto: neither SLURM_ARRAY_TASK_ID (a SLURM job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N',
    );
  }
  if (k === undefined || n === undefined || !Number.isInteger(k) || n < 1 || k < 1 || k > n)
    throw new Error(`--shard auto: ${from} do not make a shard K of N with 1 <= K <= N`);
  return { k, n };
}
