/** `backprop experiment NAME|all|FILE.json`: the paper's experiments or a sweep file's, their figures and tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hashModelFile, isArrayData, loadArrays, writeFileAtomic, type ModelFile } from '@backprop/mlp';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { loadExperiments, readExperimentFile, type Experiment } from '../experiments/define.ts';
import {
  describeOverrides,
  describeSubset,
  isQuickLook,
  modelOptionsOf,
  parseShard,
  planRuns,
  readOverrides,
  type Overrides,
  type PlannedRun,
} from '../experiments/plan.ts';
import { experimentTable, summarize } from '../experiments/results.ts';
import { RunSources } from '../experiments/runs.ts';
import type { ModelRef, RunConfig } from '../run/config.ts';
import { openModelFile } from '../run/modelfile.ts';
import { prepareRunData } from '../run/data.ts';
import { defaultThreads, executeRun, type RunResult } from '../run/execute.ts';
import { lockRunDir } from '../run/lock.ts';
import { makeDirs, RunDir } from '../run/rundir.ts';
import { metricText, pct, table } from '../format.ts';
import { finalNetworkFigure, writeReport } from './report.ts';

export const experimentOptions = (y: Argv) =>
  y
    .positional('name', { type: 'string', describe: 'activations, losses, depth, width1, width2, final or all; or a sweep file, FILE.json' })
    .option('list', { type: 'boolean', describe: 'show the runs and their state; run nothing' })
    .option('out', { type: 'string', describe: 'directory of the runs, figures and report', defaultDescription: 'runs/paper, or runs/NAME for a sweep file' })
    .option('jobs', { type: 'number', default: 1, describe: 'runs in parallel, one process each' })
    .option('shard', {
      type: 'string',
      describe: 'K/N: run only every N-th run, starting with the K-th; auto: K and N from a SLURM job array or a Kubernetes Indexed Job',
    })
    .option('seeds', { type: 'number', describe: 'run every run at seeds 1..N (the paper\'s experiments: 1; a sweep file: its "seeds")' })
    .option('epochs', { type: 'number', describe: "override every run's epochs (a quick look, not the paper)" })
    .option('subset', { type: 'number', describe: 'train on the first N images (test on N/6) (a quick look, not the paper)' })
    .option('each-seed', { type: 'boolean', describe: 'with several seeds, a table row for each seed under its mean' })
    .option('keep-checkpoints', {
      type: 'number',
      describe: 'keep the checkpoints of the last N epochs of each run (the last one is always kept)',
      defaultDescription: '3',
    })
    .option('quiet', { type: 'boolean' });

type Args = Awaited<ReturnType<ReturnType<typeof experimentOptions>['parseAsync']>>;

/** The experiments NAME names: one of the paper's, all of them, or those of a sweep file (NAME.json). */
export function chooseExperiments(name: string): { chosen: Experiment[]; sweep?: Experiment } {
  if (name.endsWith('.json')) {
    const sweep = readExperimentFile(name);
    return { chosen: [sweep], sweep };
  }
  const all = loadExperiments();
  const chosen = name === 'all' ? all : all.filter((e) => e.name === name);
  if (chosen.length === 0)
    throw new Error(`no experiment '${name}'; choose one of ${all.map((e) => e.name).join(', ')} or all, or give a sweep file (FILE.json)`);
  return { chosen };
}

export async function experimentCommand(args: Args): Promise<number> {
  const name = args.name ?? (args.list ? 'all' : undefined);
  if (!name)
    throw new Error(
      `name an experiment: ${loadExperiments()
        .map((e) => e.name)
        .join(', ')} or all, or a sweep file (FILE.json)`,
    );
  for (const [flag, v] of [
    ['--jobs', args.jobs],
    ['--epochs', args.epochs],
    ['--subset', args.subset],
    ['--seeds', args.seeds],
    ['--keep-checkpoints', args['keep-checkpoints']],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${flag} ${v}: expected a positive integer`);
  }
  const { chosen, sweep } = chooseExperiments(name);
  const out = args.out ?? (sweep ? join('runs', sweep.name) : 'runs/paper');
  // A model file is hashed and refused unrun when it is not the one the directory's runs started with.
  const models = sweep?.modelFile === undefined ? undefined : await openSweepModel(sweep, out);
  const given = args.epochs !== undefined || args.subset !== undefined || args.seeds !== undefined;
  // --list without overrides lists what the directory was run with; a run without them is the experiments' own.
  const overrides: Overrides = given || !args.list ? { epochs: args.epochs, subset: args.subset, seeds: args.seeds } : readOverrides(out);
  const plans = new Map(chosen.map((e) => [e.name, planRuns(e, overrides)]));
  // Identical runs (the 800-100 tanh network appears in four experiments) are trained once.
  const unique = [...new Map([...plans.values()].flat().map((r) => [r.key, r])).values()];
  // An empty --shard "" (an unset variable in a script) is an error, not every run.
  const sharded = args.shard !== undefined;
  const shard = sharded ? parseShard(args.shard!) : { k: 1, n: 1 };
  const mine = unique.filter((_, i) => i % shard.n === shard.k - 1);
  const shardText = args.shard === 'auto' ? `${shard.k}/${shard.n}` : args.shard;
  const log = (s: string) => {
    if (!args.quiet) console.error(s);
  };
  if (describeOverrides(overrides)) {
    const from = given ? '' : ` (from ${join(out, 'overrides.json')})`;
    const quick = isQuickLook(overrides) ? `: a quick look, not the ${sweep ? "sweep's own" : "paper's"} settings` : '';
    // --subset N also tests on N/6 images: said here, not only in --help.
    const described = describeOverrides(overrides).replace(/subset \d+/, () => describeSubset(overrides.subset!));
    log(`overrides${from}: ${described}${quick}`);
  }
  const sources = new RunSources([out]);
  if (args.list) {
    console.log(listRuns(mine, plans, sources));
    console.log(`\n${mine.length} runs${sharded ? ` in shard ${shardText} (of ${unique.length})` : ''}, in ${out}`);
    return 0;
  }
  // An experiment's tables and findings judge accuracy: a sweep over a regression set is refused before anything runs.
  for (const data of new Set(mine.flatMap((r) => (r.config.data !== undefined && isArrayData(r.config.data) ? [r.config.data] : [])))) {
    if (loadArrays(data).train.regression) {
      throw new Error(
        `${data}: a regression set (float targets); an experiment's tables and findings judge accuracy: train its runs with backprop train and see them side by side with backprop compare`,
      );
    }
  }
  // One runner per directory of runs (and one writer per run directory: each run locks its own).
  makeDirs(out);
  const lock = lockRunDir(out);
  try {
    claimDirectory(out, sweep);
    const pending = mine.filter((r) => !existsSync(join(out, r.key, 'summary.json')));
    log(
      `${mine.length - pending.length} of ${mine.length} runs already complete${sharded ? ` in shard ${shardText}` : ''}; ${pending.length} to run${args.jobs > 1 ? ` on ${args.jobs} processes` : ''}`,
    );
    const keep = args['keep-checkpoints'];
    for (const r of pending) if (!existsSync(join(out, r.key, 'config.json'))) RunDir.create(join(out, r.key), r.config, keep).release();
    // The report of this directory is of these settings (and of this sweep).
    writeFileAtomic(join(out, 'overrides.json'), JSON.stringify(overrides) + '\n');
    if (sweep) writeFileAtomic(join(out, 'sweep.json'), JSON.stringify(sweep.source, null, 2) + '\n');
    if (sweep?.model) writeFileAtomic(join(out, 'model.json'), JSON.stringify(sweep.model, null, 2) + '\n');
    // A diverging run is a result (the paper's ReLU at lr 0.01), not a failure; a crashed child is.
    const outcome =
      args.jobs > 1
        ? await runInChildren(pending, out, args.jobs, keep, log, sweep?.modelFile)
        : await runHere(pending, out, args.quiet ? 'quiet' : 'bar', keep, log, models);
    if (outcome === 'interrupted') {
      console.error(`interrupted: the finished epochs of every run are kept; rerun the same command to continue: ${sameCommand()}`);
      return 130;
    }
    const summaries = await summarize(sources, out, chosen, plans, overrides);
    if (!args.quiet) for (const s of summaries) console.log(experimentTable(s, args['each-seed']) + '\n');
    writeReport(out, summaries, sweep, args['each-seed'], { final: await finalNetworkFigure(summaries) });
    log(`figures in ${join(out, 'figures')}, report in ${join(out, 'report.html')}`);
    return outcome > 0 ? 1 : 0;
  } finally {
    lock.release();
  }
}

/** The runs and their state, with a column for every setting beyond the usual ones that differs between them (a grid's). */
function listRuns(mine: PlannedRun[], plans: Map<string, PlannedRun[]>, sources: RunSources): string {
  const all = [...plans.values()].flat();
  // A model file's runs have no layers or activation: their columns go (the model's shows the file and its options).
  const usual = ['layers', 'activation', 'loss', 'lr', 'epochs'].filter((k) => all.some((r) => r.config[k as keyof RunConfig] !== undefined));
  const varying = [...new Set(all.flatMap((r) => Object.keys(r.config)))].filter(
    (k) => !usual.includes(k) && new Set(all.map((r) => JSON.stringify(r.config[k as keyof RunConfig]))).size > 1,
  );
  const show = (v: unknown) =>
    v === undefined ? '-' : Array.isArray(v) ? v.join('-') : typeof v === 'object' && v !== null ? describeModel(v as ModelRef) : String(v);
  // The runs of every experiment that share a run directory, found in one pass (not a search per row).
  const usersOf = new Map<string, Set<string>>();
  for (const p of all) usersOf.set(p.key, (usersOf.get(p.key) ?? new Set()).add(`${p.experiment}/${p.id}`));
  const rows = mine.map((r) => {
    const d = sources.read(r);
    const state = d.status === 'partial' ? `partial (${d.epochs.length}/${r.config.epochs} epochs)` : d.status;
    const users = [...usersOf.get(r.key)!].join(', ');
    return [users, ...usual.map((k) => show(r.config[k as keyof RunConfig])), ...varying.map((k) => show(r.config[k as keyof RunConfig])), state];
  });
  return table(['runs', ...usual, ...varying, 'state'], rows);
}

/**
 * A directory of runs holds the paper's experiments or one sweep: refuses to mix them, so that
 * `backprop report DIR` knows what it holds (sweep.json, written by the runner, says which sweep).
 */
function claimDirectory(out: string, sweep: Experiment | undefined): void {
  const path = join(out, 'sweep.json');
  let held: string | undefined;
  try {
    held = existsSync(path) ? ((JSON.parse(readFileSync(path, 'utf8')) as { name?: string }).name ?? '') : undefined;
  } catch (e) {
    throw new Error(`${path}: damaged, not valid JSON (${(e as Error).message}); copy the sweep file there again, or choose another --out`);
  }
  if (sweep && held !== undefined && held !== sweep.name)
    throw new Error(`${out}: holds the runs of the sweep '${held}', not '${sweep.name}'; choose another --out`);
  if (sweep && held === undefined && existsSync(join(out, 'overrides.json')))
    throw new Error(`${out}: holds the paper's experiments; choose another --out for the sweep '${sweep.name}'`);
  if (!sweep && held !== undefined) throw new Error(`${out}: holds the runs of the sweep '${held}'; choose another --out for the paper's experiments`);
}

/** A model file's run as a cell: `attention.ts width=8`. */
const describeModel = (m: ModelRef) => [basename(m.file), ...Object.entries(m.options ?? {}).map(([k, v]) => `${k}=${v}`)].join(' ');

/** A sweep's model file, loaded once for each set of options its runs give it. */
interface SweepModels {
  of(options: ModelRef['options']): Promise<ModelFile>;
}

/**
 * Hashes a sweep's model file, refuses it unrun when the directory's runs started with another
 * version of it (model.json, written by the runner, records the one they train, as a run's
 * config.json does for `backprop train --resume`), then loads it with every set of options the
 * runs give (an unknown option is refused before anything runs) and notes whether it exports its
 * own loss, the runs' loss unless the sweep names one.
 */
async function openSweepModel(sweep: Experiment, out: string): Promise<SweepModels> {
  const file = sweep.modelFile!;
  const { sha256 } = hashModelFile(file);
  const recordPath = join(out, 'model.json');
  if (existsSync(recordPath)) {
    let held: { sha256?: unknown };
    try {
      held = JSON.parse(readFileSync(recordPath, 'utf8'));
    } catch (e) {
      throw new Error(`${recordPath}: damaged, not valid JSON (${(e as Error).message}); choose another --out`);
    }
    if (held.sha256 !== sha256)
      throw new Error(
        `${out}: its runs train the model file ${file} as it was (SHA-256 ${String(held.sha256).slice(0, 12)}...), the file is now ${sha256.slice(0, 12)}...; restore it to resume the sweep, or choose another --out`,
      );
  }
  const loaded = new Map<string, Promise<ModelFile>>();
  const models: SweepModels = {
    of(options) {
      const key = JSON.stringify(options ?? {});
      if (!loaded.has(key)) loaded.set(key, openModelFile(file, { expect: sha256, options }));
      return loaded.get(key)!;
    },
  };
  const optionSets = sweep.runs.map((r) => modelOptionsOf(sweep.base.model, r.set.model));
  const first = await models.of(optionSets[0]);
  for (const options of optionSets.slice(1)) await models.of(options);
  sweep.model = { file, sha256, ownLoss: first.definition.loss !== undefined };
  return models;
}

/** `depth/1-layer`, and its seed when it is not 1. */
const runName = (r: PlannedRun) => `${r.experiment}/${r.id}${r.seed !== 1 ? ` seed ${r.seed}` : ''}`;

/** This command line, to be run again as it was. */
function sameCommand(): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['backprop', ...process.argv.slice(2).map(quote)].join(' ');
}

async function runHere(
  runs: PlannedRun[],
  out: string,
  mode: 'bar' | 'quiet',
  keep: number | undefined,
  log: (s: string) => void,
  models?: SweepModels,
): Promise<number> {
  for (const [i, r] of runs.entries()) {
    const label = `[${i + 1}/${runs.length} ${runName(r)}]`;
    const run = RunDir.open(join(out, r.key), keep);
    try {
      const model = run.config.model && (await models!.of(run.config.model.options));
      const data = prepareRunData(run.config, (line) => log(`${label} warning: ${line}`), model);
      const result = await executeRun(run, {
        mode,
        label,
        data,
        model,
        onInterrupt: `rerun the same command to continue: ${sameCommand()}`,
        train: { threads: defaultThreads() },
      });
      log(`${label} ${result.status === 'done' ? resultText(result) : result.message}`);
    } finally {
      run.release();
    }
  }
  return 0; // in this process, a crash is an exception
}

const bin = fileURLToPath(new URL('../../bin/backprop.mjs', import.meta.url));

/**
 * Runs each pending run as `backprop train --resume DIR --json` in a pool of `jobs` processes.
 * Each child has an IPC channel to this process and stops when it closes: when this process is
 * killed (even with SIGKILL), and on Ctrl-C, after which the runner says how to go on, once.
 */
async function runInChildren(
  pending: PlannedRun[],
  out: string,
  jobs: number,
  keep: number | undefined,
  log: (s: string) => void,
  modelFile: string | undefined,
): Promise<number | 'interrupted'> {
  // Longest first (epochs x weights), so that the last run to finish does not start last.
  const weights = (c: RunConfig) => (c.model === undefined ? c.layers.slice(1).reduce((a, n, i) => a + n * c.layers[i], 0) : 1);
  const cost = (r: PlannedRun) => r.config.epochs * weights(r.config);
  const runs = [...pending].sort((a, b) => cost(b) - cost(a));
  let next = 0,
    failures = 0,
    interrupted = false;
  const children = new Set<ChildProcess>();
  // Ctrl-C reaches the children too (one process group); closing their channels stops them
  // also when only this process was signalled.
  const interrupt = () => {
    interrupted = true;
    for (const child of children) if (child.connected) child.disconnect();
  };
  process.on('SIGINT', interrupt);
  const worker = async () => {
    while (next < runs.length && !interrupted) {
      const i = next++,
        r = runs[i];
      const label = `[${i + 1}/${runs.length} ${runName(r)}]`;
      const keepFlag = keep === undefined ? [] : ['--keep-checkpoints', String(keep)];
      // The cores are shared out among the runs: with --jobs 2 on two cores, one thread each.
      const threadsFlag = ['--threads', String(defaultThreads(jobs))];
      // A run of a model file resumes only with the file named (a run directory, being data, never names the code to run).
      const modelFlag = modelFile === undefined ? [] : ['--model', modelFile];
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [bin, 'train', '--resume', join(out, r.key), '--json', ...keepFlag, ...threadsFlag, ...modelFlag], {
          stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        });
        children.add(child);
        let buffered = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            let m: { event?: string; epoch?: number; trainAccuracy?: number; testAccuracy?: number; seconds?: number; status?: string; message?: string };
            try {
              m = JSON.parse(line);
            } catch {
              log(`${label} ${line}`); // not one of our JSON lines: pass it on
              continue;
            }
            if (m.event === 'epoch')
              log(`${label} epoch ${m.epoch}/${r.config.epochs}: train ${pct(m.trainAccuracy)}, test ${pct(m.testAccuracy)}, ${m.seconds?.toFixed(1)} s`);
            else if (m.event === 'result') log(`${label} ${m.status === 'done' ? 'done' : m.message}`);
          }
        });
        child.on('exit', (c) => {
          children.delete(child);
          resolve(c ?? 1);
        });
      });
      // A diverging run exits 1 but is a result; a run that crashed has no summary.
      if (!interrupted && !existsSync(join(out, r.key, 'summary.json'))) {
        log(`${label} failed (exit ${code}); rerun the experiment to resume it`);
        failures++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, worker));
  } finally {
    process.off('SIGINT', interrupt);
  }
  return interrupted ? 'interrupted' : failures;
}

/** A finished run's result: its accuracies, or a regression run's MSE or MAE. */
function resultText(r: RunResult): string {
  if (r.trainAccuracy !== undefined) return `train ${pct(r.trainAccuracy)}, test ${pct(r.testAccuracy)}`;
  return `train ${metricText({ mse: r.trainMse, mae: r.trainMae })}, test ${metricText({ mse: r.testMse, mae: r.testMae })}`;
}
