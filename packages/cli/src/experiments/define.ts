/**
 * The paper's experiments, each defined as data (packages/cli/experiments/NAME.json): its runs
 * (the paper's settings over a base), its figures and its stated findings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runConfigSchema, validateConfig, defaultRunConfig, type RunConfig } from '../run/config.ts';

const experimentSchema = z.object({
  name: z.string(),
  section: z.string(),
  title: z.string(),
  base: runConfigSchema.partial(),
  runs: z.array(z.object({ id: z.string(), label: z.string(), set: runConfigSchema.partial() })).min(1),
  figures: z.array(z.object({
    id: z.string(), title: z.string(), kind: z.enum(['loss', 'train-accuracy', 'test-accuracy']), runs: z.array(z.string()),
  })),
  findings: z.array(z.object({
    text: z.string(),
    type: z.enum(['best', 'worst', 'order', 'increasing', 'explodes', 'close']),
    runs: z.array(z.string()).min(1),
    split: z.enum(['train', 'test']).optional(),
    tolerance: z.number().optional(),
  })),
  paper: z.record(z.string(), z.object({ train: z.number(), test: z.number() })).optional(),
}).strict();

export type Experiment = z.infer<typeof experimentSchema>;
export type Finding = Experiment['findings'][number];

export const experimentsDir = fileURLToPath(new URL('../../experiments/', import.meta.url));

/** Every experiment, in the paper's order. */
export function loadExperiments(dir = experimentsDir): Experiment[] {
  const order = ['activations', 'losses', 'depth', 'width1', 'width2', 'final'];
  const all = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => {
    const parsed = experimentSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (!parsed.success) throw new Error(`${join(dir, f)}: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
    const e = parsed.data;
    for (const ref of [...e.figures, ...e.findings].flatMap((x) => x.runs)) {
      if (!e.runs.some((r) => r.id === ref)) throw new Error(`${join(dir, f)}: refers to run '${ref}', which it does not define`);
    }
    return e;
  });
  return all.sort((a, b) => (order.indexOf(a.name) + 1 || 99) - (order.indexOf(b.name) + 1 || 99));
}

/** One training run of an experiment, with the directory it shares with every identical run. */
export interface PlannedRun {
  experiment: string;
  id: string;
  label: string;
  config: RunConfig;
  /** Directory name: readable, and unique to the config (identical runs of several experiments share it). */
  key: string;
}

export interface Overrides {
  epochs?: number;
  subset?: number;
}

const overridesSchema = z.object({ epochs: z.number().int().positive().optional(), subset: z.number().int().positive().optional() }).strict();

/**
 * The overrides (--epochs, --subset) the runs in `dir` were made with, from its overrides.json;
 * none (the paper's settings) when there is no such file. A corrupt one is named, not ignored.
 */
export function readOverrides(dir: string): Overrides {
  const path = join(dir, 'overrides.json');
  if (!existsSync(path)) return {};
  const fix = "delete it to use the paper's settings";
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
export const describeOverrides = (o: Overrides) => [o.epochs && `epochs ${o.epochs}`, o.subset && `subset ${o.subset}`].filter(Boolean).join(', ');

export function planRuns(e: Experiment, overrides: Overrides = {}): PlannedRun[] {
  return e.runs.map((r) => {
    const config = validateConfig({ ...defaultRunConfig, epochs: 10, ...e.base, ...r.set, ...definedOnly(overrides) }, `experiment ${e.name}, run ${r.id}`);
    return { experiment: e.name, id: r.id, label: r.label, config, key: runKey(config) };
  });
}

const definedOnly = (o: Overrides) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function runKey(c: RunConfig): string {
  const canonical = JSON.stringify(Object.keys(c).sort().map((k) => [k, c[k as keyof RunConfig]]));
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 8);
  const subset = c.subset ? `-n${c.subset}` : '';
  return `${c.layers.slice(1, -1).join('x')}-${c.activation}-${c.loss}-lr${c.lr}-e${c.epochs}${subset}-${hash}`;
}

/** `K/N`: the runs whose index i (in plan order) has i mod N = K - 1. */
export function parseShard(text: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const k = Number(m?.[1]), n = Number(m?.[2]);
  if (!m || n < 1 || k < 1 || k > n) throw new Error(`--shard ${text}: expected K/N with 1 <= K <= N, e.g. 1/4`);
  return { k, n };
}
