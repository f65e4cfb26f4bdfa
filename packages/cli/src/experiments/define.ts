/**
 * Experiments as data: the paper's six (packages/cli/experiments/NAME.json) and a user's own sweep
 * files, in one format (sweep.schema.json is its JSON schema, generated from `experimentSchema`).
 * An experiment's runs are settings over a base: a list of runs, a grid (their cartesian
 * product), or both (every listed run crossed with the grid), each repeated for every seed; then
 * its figures and its stated findings.
 */
import { readdirSync } from 'node:fs';
import { readUserFile } from '@backprop/mlp/files';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runConfigSchema, runConfigShape } from '../run/config.ts';

const settings = runConfigSchema.partial().meta({ id: 'settings', description: 'settings of a run; each is also a flag of backprop train' });

/** Every setting as a list of the values to try (one run per combination of the lists). */
const gridSchema = z
  .object(Object.fromEntries(Object.entries(runConfigShape).map(([k, s]) => [k, z.array(s instanceof z.ZodOptional ? s.unwrap() : s).min(1)])))
  .partial()
  .strict()
  .meta({ id: 'grid', description: 'settings, each with the values to try: one run per combination (the first setting varies slowest)' });

export const experimentSchema = z
  .object({
    $schema: z.string().optional().describe('the JSON schema of this file, for editors'),
    name: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'letters, digits, "-", "_" and "." only (it names the directory of the runs)'),
    section: z.string().optional().describe("the paper's section"),
    title: z.string().optional(),
    base: settings.optional(),
    runs: z
      .array(z.object({ id: z.string().min(1), label: z.string().optional(), set: settings.optional() }).strict())
      .min(1)
      .optional(),
    grid: gridSchema.optional(),
    seeds: z.array(z.number().int().min(0)).min(1).optional().describe('every run once per seed (default [1])'),
    figures: z
      .array(
        z
          .object({
            id: z.string().regex(/^[\w.-]+$/),
            title: z.string(),
            kind: z.enum(['loss', 'train-accuracy', 'test-accuracy']),
            runs: z.array(z.string()).min(1),
          })
          .strict(),
      )
      .optional()
      .describe('default: test accuracy and training loss of every run'),
    findings: z
      .array(
        z
          .object({
            text: z.string(),
            type: z.enum(['best', 'worst', 'order', 'increasing', 'explodes', 'close']),
            runs: z.array(z.string()).min(1),
            split: z.enum(['train', 'test']).optional(),
            tolerance: z.number().positive().optional(),
          })
          .strict(),
      )
      .optional(),
    paper: z.record(z.string(), z.object({ train: z.number(), test: z.number() }).strict()).optional(),
  })
  .strict();

export type ExperimentFile = z.infer<typeof experimentSchema>;
export type Finding = NonNullable<ExperimentFile['findings']>[number];
export type Figure = NonNullable<ExperimentFile['figures']>[number];

/** One run of an experiment before seeds: its id (a grid point's is `lr=0.1,layers=784-100-10`), label and settings. */
export interface RunSpec {
  id: string;
  label: string;
  set: Record<string, unknown>;
}

/** An experiment as it runs: its runs expanded, its seeds, figures and findings filled in. */
export interface Experiment {
  name: string;
  section?: string;
  title: string;
  base: Record<string, unknown>;
  runs: RunSpec[];
  seeds: number[];
  figures: Figure[];
  findings: Finding[];
  paper?: Record<string, { train: number; test: number }>;
  /** The file's text, validated, as a sweep directory keeps it (sweep.json); undefined for the paper's. */
  source?: ExperimentFile;
  /** What errors name: the file, or `experiment NAME` for the paper's. */
  where: string;
}

export const experimentsDir = fileURLToPath(new URL('../../experiments/', import.meta.url));

/** The paper's experiments, in the paper's order. */
export function loadExperiments(dir = experimentsDir): Experiment[] {
  const order = ['activations', 'losses', 'depth', 'width1', 'width2', 'final'];
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readExperimentFile(join(dir, f)))
    .map((e) => ({ ...e, source: undefined, where: `experiment ${e.name}` }));
  return all.sort((a, b) => (order.indexOf(a.name) + 1 || 99) - (order.indexOf(b.name) + 1 || 99));
}

/** Reads and checks an experiment file; every error names the file and the field: `sweep.json: grid.lr.1: ...`. */
export function readExperimentFile(path: string): Experiment {
  let text: string;
  try {
    text = readUserFile(path, { limit: 16 * 2 ** 20, what: 'a sweep file' }).toString('utf8');
  } catch (e) {
    throw new Error(
      `${(e as Error).message.replace(': cannot read: no such file or directory', ': no such file')}; a sweep file is JSON as described in docs/experiments.md (backprop experiment FILE.json)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseExperiment(value, path);
}

/** Checks an experiment's JSON value, field by field, then what the fields say together. */
export function parseExperiment(value: unknown, where: string): Experiment {
  const parsed = experimentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  // zod returns an object's keys in the schema's order: the grid keeps the file's (the first setting varies slowest).
  const file = {
    ...parsed.data,
    grid:
      parsed.data.grid &&
      Object.fromEntries(Object.keys((value as { grid: object }).grid).map((k) => [k, parsed.data.grid![k as keyof typeof parsed.data.grid]])),
  };
  const fail = (field: string, message: string): never => {
    throw new Error(`${where}: ${field}: ${message}`);
  };
  if (!file.runs && !file.grid) fail('runs', 'an experiment needs runs, a grid, or both');
  // Counted before anything is expanded: a grid of 10^10 points is refused, not built.
  const listed = file.runs?.length ?? 1,
    points = Object.values(file.grid ?? {}).reduce((a, v) => a * (v?.length ?? 1), 1);
  const seeds = file.seeds?.length ?? 1;
  if (listed * points * seeds > MAX_RUNS) fail(file.grid ? 'grid' : 'runs', tooManyRuns(listed * points * seeds, describeCount(listed, points, seeds)));
  if (file.seeds) {
    const dup = firstRepeat(file.seeds);
    if (dup !== undefined) fail('seeds', `seed ${dup} is listed twice`);
    if (file.base?.seed !== undefined) fail('base.seed', 'give the seeds in "seeds" only');
    file.runs?.forEach((r, i) => r.set?.seed !== undefined && fail(`runs.${i}.set.seed`, 'give the seeds in "seeds" only'));
  }
  if (file.grid?.seed) fail('grid.seed', 'to repeat every run over seeds, use "seeds": [1, 2, 3]');
  file.runs?.forEach((r, i) =>
    Object.keys(r.set ?? {}).forEach(
      (k) => k in (file.grid ?? {}) && fail(`runs.${i}.set.${k}`, 'is also a setting of the grid, which would override it; vary it in one place'),
    ),
  );
  const runs = expandRuns(file);
  const twice = firstRepeat(runs.map((r) => r.id));
  if (twice !== undefined) fail('runs', `run id '${twice}' is used twice`);
  const ids = new Set(runs.map((r) => r.id));
  const figures = file.figures ?? defaultFigures([...ids]);
  for (const [list, items] of [
    ['figures', figures],
    ['findings', file.findings ?? []],
  ] as const) {
    items.forEach((x, i) =>
      x.runs.forEach((ref, j) => {
        if (!ids.has(ref))
          fail(
            `${list}.${i}.runs.${j}`,
            `no run '${ref}'; the runs are ${[...ids]
              .slice(0, 10)
              .map((id) => `'${id}'`)
              .join(', ')}${ids.size > 10 ? `, ... (${ids.size} in all)` : ''}`,
          );
      }),
    );
  }
  return {
    name: file.name,
    section: file.section,
    title: file.title ?? file.name,
    base: file.base ?? {},
    runs,
    seeds: file.seeds ?? [1],
    figures,
    findings: file.findings ?? [],
    paper: file.paper,
    source: file,
    where,
  };
}

/**
 * The most runs an experiment may have (its runs, times its grid's points, times its seeds): a
 * sweep of more could not be trained by one team, and its plan, list and report would fill memory.
 */
export const MAX_RUNS = 100_000;

/** Why `count` runs (counted as `how` says) are refused, and the way out. */
export const tooManyRuns = (count: number, how: string, wayOut = 'split it into several sweep files') =>
  `${how} make ${count.toLocaleString('en-US')} runs, more than the ${MAX_RUNS.toLocaleString('en-US')} an experiment may have; ${wayOut}`;

/** "3 listed runs x 1,000 grid points x 2 seeds" (the factors that are not 1) */
export function describeCount(listed: number, points: number, seeds: number): string {
  const n = (x: number, one: string, many: string) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;
  return [listed > 1 && n(listed, 'listed run', 'listed runs'), points > 1 && n(points, 'grid point', 'grid points'), seeds > 1 && n(seeds, 'seed', 'seeds')]
    .filter(Boolean)
    .join(' x ');
}

/** The first value that appears a second time, in one pass. */
function firstRepeat<T>(values: T[]): T | undefined {
  const seen = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}

/** The runs of a file: its listed runs, each crossed with every point of its grid (the first setting varying slowest). */
function expandRuns(file: ExperimentFile): RunSpec[] {
  const listed: RunSpec[] = file.runs?.map((r) => ({ id: r.id, label: r.label ?? r.id, set: r.set ?? {} })) ?? [{ id: '', label: '', set: {} }];
  let points: RunSpec[] = [{ id: '', label: '', set: {} }];
  for (const [key, values] of Object.entries(file.grid ?? {}) as [string, unknown[]][]) {
    points = points.flatMap((p) =>
      values.map((v) => ({
        id: join2(p.id, ',', `${key}=${show(v)}`),
        label: join2(p.label, ', ', `${key} ${show(v)}`),
        set: { ...p.set, [key]: v },
      })),
    );
  }
  return listed.flatMap((r) => points.map((p) => ({ id: join2(r.id, ',', p.id), label: join2(r.label, ', ', p.label), set: { ...r.set, ...p.set } })));
}

const join2 = (a: string, sep: string, b: string) => (a && b ? `${a}${sep}${b}` : a || b);
const show = (v: unknown) => (Array.isArray(v) ? v.join('-') : String(v));

/** Without figures in the file: test accuracy and training loss of every run. */
function defaultFigures(ids: string[]): Figure[] {
  return [
    { id: 'test-accuracy', title: 'test accuracy against epochs', kind: 'test-accuracy', runs: ids },
    { id: 'loss', title: 'training loss (smoothed)', kind: 'loss', runs: ids },
  ];
}
