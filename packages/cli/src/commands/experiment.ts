/** `backprop experiment NAME|all`: the paper's experiments, their figures and tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '@backprop/mlp';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { describeOverrides, loadExperiments, parseShard, planRuns, readOverrides, type PlannedRun } from '../experiments/define.ts';
import { experimentTable, readRun, summarize } from '../experiments/results.ts';
import { prepareRunData } from '../run/data.ts';
import { executeRun } from '../run/execute.ts';
import { lockRunDir } from '../run/lock.ts';
import { makeDirs, RunDir } from '../run/rundir.ts';
import { pct, table } from '../format.ts';
import { writeReport } from './report.ts';

export const experimentOptions = (y: Argv) =>
  y
    .positional('name', { type: 'string', describe: 'activations, losses, depth, width1, width2, final or all' })
    .option('list', { type: 'boolean', describe: 'show the runs and their state; run nothing' })
    .option('out', { type: 'string', default: 'runs/paper', describe: 'directory of the runs, figures and report' })
    .option('jobs', { type: 'number', default: 1, describe: 'runs in parallel, one process each' })
    .option('shard', { type: 'string', describe: 'K/N: run only every N-th run, starting with the K-th' })
    .option('epochs', { type: 'number', describe: 'override every run\'s epochs (a quick look, not the paper)' })
    .option('subset', { type: 'number', describe: 'train on the first N images (test on N/6) (a quick look, not the paper)' })
    .option('keep-checkpoints', { type: 'number', describe: 'keep the checkpoints of the last N epochs of each run (the last one is always kept)', defaultDescription: '3' })
    .option('quiet', { type: 'boolean' });

type Args = Awaited<ReturnType<ReturnType<typeof experimentOptions>['parseAsync']>>;

export async function experimentCommand(args: Args): Promise<number> {
  const all = loadExperiments();
  const name = args.name ?? (args.list ? 'all' : undefined);
  if (!name) throw new Error(`name an experiment: ${all.map((e) => e.name).join(', ')} or all`);
  const chosen = name === 'all' ? all : all.filter((e) => e.name === name);
  if (chosen.length === 0) throw new Error(`no experiment '${name}'; choose one of ${all.map((e) => e.name).join(', ')} or all`);
  for (const [flag, v] of [['--jobs', args.jobs], ['--epochs', args.epochs], ['--subset', args.subset], ['--keep-checkpoints', args['keep-checkpoints']]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${flag} ${v}: expected a positive integer`);
  }
  const given = args.epochs !== undefined || args.subset !== undefined;
  // --list without overrides lists what the directory was run with; a run without them is the paper's.
  const overrides = given || !args.list ? { epochs: args.epochs, subset: args.subset } : readOverrides(args.out);
  const plans = new Map(chosen.map((e) => [e.name, planRuns(e, overrides)]));
  // Identical runs (the 800-100 tanh network appears in four experiments) are trained once.
  const unique = [...new Map([...plans.values()].flat().map((r) => [r.key, r])).values()];
  const shard = args.shard ? parseShard(args.shard) : { k: 1, n: 1 };
  const mine = unique.filter((_, i) => i % shard.n === shard.k - 1);
  const log = (s: string) => { if (!args.quiet) console.error(s); };
  if (overrides.epochs || overrides.subset) {
    const from = given ? '' : ` (from ${join(args.out, 'overrides.json')})`;
    log(`overrides${from}: ${describeOverrides(overrides)}: a quick look, not the paper's settings`);
  }
  if (args.list) {
    const rows = mine.map((r) => {
      const d = readRun(args.out, r);
      const state = d.status === 'partial' ? `partial (${d.epochs.length}/${r.config.epochs} epochs)` : d.status;
      const users = [...plans.values()].flat().filter((p) => p.key === r.key).map((p) => `${p.experiment}/${p.id}`).join(', ');
      return [users, r.config.layers.join('-'), r.config.activation, r.config.loss, String(r.config.lr), String(r.config.epochs), state];
    });
    console.log(table(['runs', 'layers', 'activation', 'loss', 'lr', 'epochs', 'state'], rows));
    console.log(`\n${mine.length} runs${args.shard ? ` in shard ${args.shard} (of ${unique.length})` : ''}, in ${args.out}`);
    return 0;
  }
  // One runner per directory of runs (and one writer per run directory: each run locks its own).
  makeDirs(args.out);
  const lock = lockRunDir(args.out);
  try {
    const pending = mine.filter((r) => !existsSync(join(args.out, r.key, 'summary.json')));
    log(`${mine.length - pending.length} of ${mine.length} runs already complete; ${pending.length} to run${args.jobs > 1 ? ` on ${args.jobs} processes` : ''}`);
    const keep = args['keep-checkpoints'];
    for (const r of pending) if (!existsSync(join(args.out, r.key, 'config.json'))) RunDir.create(join(args.out, r.key), r.config, keep).release();
    // The report of this directory is of these settings.
    writeFileAtomic(join(args.out, 'overrides.json'), JSON.stringify(overrides) + '\n');
    // A diverging run is a result (the paper's ReLU at lr 0.01), not a failure; a crashed child is.
    const outcome = args.jobs > 1 ? await runInChildren(pending, args.out, args.jobs, keep, log) : await runHere(pending, args.out, args.quiet ? 'quiet' : 'bar', keep, log);
    if (outcome === 'interrupted') {
      console.error(`interrupted: the finished epochs of every run are kept; rerun the same command to continue: ${sameCommand()}`);
      return 130;
    }
    const summaries = await summarize(args.out, chosen, plans);
    if (!args.quiet) for (const s of summaries) console.log(experimentTable(s) + '\n');
    writeReport(args.out, summaries);
    log(`figures in ${join(args.out, 'figures')}, report in ${join(args.out, 'report.html')}`);
    return outcome > 0 ? 1 : 0;
  } finally {
    lock.release();
  }
}

/** This command line, to be run again as it was. */
function sameCommand(): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['backprop', ...process.argv.slice(2).map(quote)].join(' ');
}

async function runHere(runs: PlannedRun[], out: string, mode: 'bar' | 'quiet', keep: number | undefined, log: (s: string) => void): Promise<number> {
  for (const [i, r] of runs.entries()) {
    const label = `[${i + 1}/${runs.length} ${r.experiment}/${r.id}]`;
    const run = RunDir.open(join(out, r.key), keep);
    try {
      const data = prepareRunData(run.config, (line) => log(`${label} warning: ${line}`));
      const result = await executeRun(run, { mode, label, data, onInterrupt: `rerun the same command to continue: ${sameCommand()}` });
      log(`${label} ${result.status === 'done' ? `train ${pct(result.trainAccuracy)}, test ${pct(result.testAccuracy)}` : result.message}`);
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
async function runInChildren(pending: PlannedRun[], out: string, jobs: number, keep: number | undefined, log: (s: string) => void): Promise<number | 'interrupted'> {
  // Longest first (epochs x weights), so that the last run to finish does not start last.
  const cost = (r: PlannedRun) => r.config.epochs * r.config.layers.slice(1).reduce((a, n, i) => a + n * r.config.layers[i], 0);
  const runs = [...pending].sort((a, b) => cost(b) - cost(a));
  let next = 0, failures = 0, interrupted = false;
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
      const i = next++, r = runs[i];
      const label = `[${i + 1}/${runs.length} ${r.experiment}/${r.id}]`;
      const keepFlag = keep === undefined ? [] : ['--keep-checkpoints', String(keep)];
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [bin, 'train', '--resume', join(out, r.key), '--json', ...keepFlag], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
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
            if (m.event === 'epoch') log(`${label} epoch ${m.epoch}/${r.config.epochs}: train ${pct(m.trainAccuracy)}, test ${pct(m.testAccuracy)}, ${m.seconds?.toFixed(1)} s`);
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
