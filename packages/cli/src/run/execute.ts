/** Runs (or resumes) one training run in a run directory. */
import { holdOut, train, type ModelFile } from '@backprop/mlp';
import type { RunData } from './data.ts';
import { createReporter, type ReportMode } from './progress.ts';
import type { RunDir } from './rundir.ts';

export interface RunResult {
  status: 'done' | 'diverged';
  message?: string;
  trainAccuracy?: number;
  testAccuracy?: number;
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
}

export async function executeRun(run: RunDir, { mode, label = '', data, model, onInterrupt }: RunOptions): Promise<RunResult> {
  const { config } = run;
  const state = run.state(model);
  const reporter = createReporter(mode, Math.ceil(holdOut(data.train, config).fit.count / config.batchSize), config.epochs, label);
  let losses: number[] = [];
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
        losses.push(loss);
        reporter.iteration(i, epoch, loss);
      },
      onEpoch: (stats, s) => {
        run.endEpoch(stats, losses, s);
        losses = [];
        reporter.epoch(stats, config.epochs);
      },
    });
  } finally {
    process.off('SIGINT', interrupted);
    reporter.stop();
  }
  const last = run.epochLines().at(-1);
  const result: RunResult = {
    status: outcome.status,
    message: outcome.status === 'diverged' ? outcome.message : undefined,
    trainAccuracy: last?.trainAccuracy as number | undefined,
    testAccuracy: last?.testAccuracy as number | undefined,
    ...(outcome.status === 'done' && outcome.stoppedEarly && { stoppedEarly: true }),
    ...(outcome.state.best && { bestEpoch: outcome.state.best.epoch }),
  };
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // of this process, in MiB
  run.finish(outcome.state, { ...result, epochs: outcome.state.epoch, iterations: outcome.state.iteration, peakRssMB, finished: new Date().toISOString() }, losses);
  return result;
}
