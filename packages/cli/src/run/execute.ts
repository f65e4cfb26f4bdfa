/** Runs (or resumes) one training run in a run directory. */
import { availableParallelism } from 'node:os';
import { holdOut, train, type ModelFile, type TrainOptions } from '@backprop/mlp';
import type { RunData } from './data.ts';
import { createReporter, type ReportMode } from './progress.ts';
import type { RunDir } from './rundir.ts';

export interface RunResult {
  status: 'done' | 'diverged';
  message?: string;
  trainAccuracy?: number;
  testAccuracy?: number;
  /** A regression run's metric on the last epoch, MSE (or MAE with the mae loss), in accuracy's place. */
  trainMse?: number;
  testMse?: number;
  trainMae?: number;
  testMae?: number;
  /** Early stopping ended the run before its last epoch; the best validation loss was at bestEpoch. */
  stoppedEarly?: boolean;
  bestEpoch?: number;
}

export interface RunOptions {
  mode: ReportMode;
  label?: string;
  /** The run's data, from `prepareRunData`, which checks it before the run directory is written. */
  data: RunData;
  /** The run's model file, loaded (a run of the MLP has none). */
  model?: ModelFile;
  /**
   * What Ctrl-C prints after "interrupted during epoch N; ": how to go on (by default, `continue
   * with: backprop train --resume DIR`); null prints nothing (a child of the experiment runner,
   * which says it once for all its runs).
   */
  onInterrupt?: string | null;
  /** How many threads, and whether evaluation runs beside training (`train`'s TrainOptions; one thread by default). */
  train?: TrainOptions;
}

/** The threads a run uses unless told: two where there are two cores (one trains, one evaluates). */
export function defaultThreads(jobs = 1): number {
  return Math.max(1, Math.min(2, Math.floor(availableParallelism() / jobs)));
}

export async function executeRun(run: RunDir, { mode, label = '', data, model, onInterrupt, train: options }: RunOptions): Promise<RunResult> {
  const { config } = run;
  run.useData(data);
  const state = run.state(model);
  const reporter = createReporter(mode, Math.ceil(holdOut(data.train, config).fit.count / config.batchSize), config.epochs, label);
  // The iteration losses of each epoch not yet logged: with evaluation in a second thread, the next
  // epoch's iterations come before the last epoch is logged.
  const losses = new Map<number, number[]>();
  const lossesOf = (epoch: number) => losses.get(epoch) ?? (losses.set(epoch, []), losses.get(epoch)!);
  // Ctrl-C: every file on disk is whole (atomic writes); restore the terminal and say how to go on.
  const interrupted = () => {
    reporter.stop();
    const hint = onInterrupt === undefined ? `continue with: backprop train --resume ${run.dir}` : onInterrupt;
    if (hint !== null) console.error(`\ninterrupted during epoch ${state.epoch + 1}; ${hint}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let outcome;
  try {
    outcome = await train(config, data, state, {
      onIteration: (i, epoch, loss) => {
        lossesOf(epoch).push(loss);
        reporter.iteration(i, epoch, loss);
      },
      onEpoch: (stats, s) => {
        run.endEpoch(stats, lossesOf(stats.epoch), s);
        losses.delete(stats.epoch);
        reporter.epoch(stats, config.epochs);
      },
    }, options);
  } finally {
    process.off('SIGINT', interrupted);
    reporter.stop();
  }
  const last = run.epochLines().at(-1);
  const result: RunResult = {
    status: outcome.status,
    message: outcome.status === 'diverged' ? outcome.message : undefined,
    ...Object.fromEntries(['trainAccuracy', 'testAccuracy', 'trainMse', 'testMse', 'trainMae', 'testMae'].filter((k) => last && k in last).map((k) => [k, last![k] as number])),
    ...(outcome.status === 'done' && outcome.stoppedEarly && { stoppedEarly: true }),
    ...(outcome.state.best && { bestEpoch: outcome.state.best.epoch }),
  };
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // of this process, in MiB
  run.finish(outcome.state, { ...result, epochs: outcome.state.epoch, iterations: outcome.state.iteration, peakRssMB, finished: new Date().toISOString() }, lossesOf(outcome.state.epoch + 1));
  return result;
}
