/**
 * Reading what the runs of a plan produced, from one directory of runs or from several to merge
 * (shards run on other machines, copied back or on a shared file system). A run is found by its
 * directory name (its key); a run directory whose config.json says other settings than its name
 * claims is refused, not averaged in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type RunConfig } from '../run/config.ts';
import { lineChecksums, metricsLineProblem } from '../run/metrics.ts';
import { canonical, type PlannedRun } from './plan.ts';

export interface RunData {
  run: PlannedRun;
  /** The run directory read (undefined: found nowhere). */
  dir?: string;
  status: 'done' | 'diverged' | 'partial' | 'pending';
  /** Per epoch: train and test accuracy (a regression run's MSE or MAE, as `metric` says) and loss. */
  epochs: { epoch: number; train: number; test: number; trainLoss: number; testLoss: number; seconds: number; metric?: 'mse' | 'mae' }[];
  /** The loss of every iteration logged. */
  losses: number[];
}

/** A run of an experiment at each of its seeds (in the order of the seeds). */
export interface RunGroup {
  id: string;
  label: string;
  runs: RunData[];
}

export const last = (d: RunData) => d.epochs.at(-1);

/** The directories runs are read from, in order of preference (a finished copy of a run wins). */
export class RunSources {
  constructor(readonly dirs: string[]) {}

  /** What `run` produced, from the first directory holding it finished (else the one furthest on). */
  read(run: PlannedRun): RunData {
    const found = this.dirs.map((d) => join(d, run.key)).filter((d) => existsSync(join(d, 'config.json')));
    for (const dir of found) checkClaim(dir, run);
    const data = found.map((dir) => readRunDir(dir, run));
    const rank = (d: RunData) => (d.status === 'done' || d.status === 'diverged' ? 1e9 : d.epochs.length);
    return (
      data.reduce<RunData | undefined>((best, d) => (!best || rank(d) > rank(best) ? d : best), undefined) ?? { run, status: 'pending', epochs: [], losses: [] }
    );
  }

  /** The runs of a plan grouped by run id, each group's runs in seed order. */
  groups(plan: PlannedRun[]): RunGroup[] {
    const groups = new Map<string, RunGroup>();
    for (const r of plan) {
      if (!groups.has(r.id)) groups.set(r.id, { id: r.id, label: r.label, runs: [] });
      groups.get(r.id)!.runs.push(this.read(r));
    }
    return [...groups.values()];
  }
}

/** Refuses a run directory whose config.json is not the run its name (the key) says it is. */
function checkClaim(dir: string, run: PlannedRun): void {
  const path = join(dir, 'config.json');
  let saved: { config?: unknown };
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message}); restore it, or move the run away and run it again`);
  }
  const config = validateConfig(saved?.config, path);
  if (canonical(config) === canonical(run.config)) return;
  const differences = differing(config, run.config).map((k) => `${k} ${show(config[k])} where the run's name claims ${show(run.config[k])}`);
  throw new Error(
    `${path}: its settings disagree with what its directory name claims (run ${run.experiment}/${run.id || 'base'}, seed ${run.seed}): ${differences.join(', ')}; it was edited, renamed or made by another version: move it away, or run it again`,
  );
}

const differing = (a: RunConfig, b: RunConfig) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k as keyof RunConfig]) !== JSON.stringify(b[k as keyof RunConfig]),
  ) as (keyof RunConfig)[];
const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));

function readRunDir(dir: string, run: PlannedRun): RunData {
  return { run, dir, ...readProgress(dir, { regression: false }) };
}

/** What a run directory's metrics.jsonl and summary.json say: its status, its epochs and the loss of every iteration; with `regression: false` (an experiment's runs, judged on accuracy), a regression run is refused. */
export function readProgress(dir: string, { regression = true } = {}): Pick<RunData, 'status' | 'epochs' | 'losses'> {
  const data: Pick<RunData, 'status' | 'epochs' | 'losses'> = { status: 'pending', epochs: [], losses: [] };
  const metrics = join(dir, 'metrics.jsonl');
  if (!existsSync(metrics)) return data;
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath)
    ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { status: RunData['status']; metricsLines?: unknown })
    : undefined;
  const lines = readFileSync(metrics, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const damaged = (i: number, what: string) => new Error(`${metrics}:${i + 1}: ${what}; restore the file, or move the run away and run it again`);
  // What the run wrote: a checksum of each line, in its summary.json (runs of older versions have none).
  const written = summary?.metricsLines;
  const checksums = Array.isArray(written) ? lineChecksums(lines) : [];
  lines.forEach((line, i) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      throw damaged(i, 'damaged, not a line of metrics');
    }
    const problem = typeof m === 'object' && m !== null ? metricsLineProblem(m) : 'not an object';
    if (problem) throw damaged(i, `damaged, ${problem}`);
    if (Array.isArray(written) && checksums[i] !== written[i])
      throw damaged(i, 'changed since the run wrote it (summary.json records another checksum for this line)');
    if (m.type === 'iterations') data.losses.push(...m.losses);
    else if ('trainAccuracy' in m)
      data.epochs.push({ epoch: m.epoch, train: m.trainAccuracy, test: m.testAccuracy, trainLoss: m.trainLoss, testLoss: m.testLoss, seconds: m.seconds });
    else {
      const metric = 'trainMae' in m ? 'mae' : 'mse',
        name = metric === 'mae' ? 'Mae' : 'Mse';
      // An experiment's tables, findings and figures are of accuracies: a regression run is not read as one.
      if (!regression)
        throw new Error(
          `${dir}: a regression run (its metric is ${metric.toUpperCase()}, not accuracy); experiments and their reports judge accuracy: see it with backprop compare`,
        );
      data.epochs.push({
        epoch: m.epoch,
        train: m[`train${name}`],
        test: m[`test${name}`],
        trainLoss: m.trainLoss,
        testLoss: m.testLoss,
        seconds: m.seconds,
        metric,
      });
    }
  });
  if (Array.isArray(written) && written.length !== lines.length) {
    throw damaged(Math.min(written.length, lines.length), `the run wrote ${written.length} lines here, the file has ${lines.length}`);
  }
  data.status = summary ? summary.status : 'partial';
  return data;
}
