/** Runs (or resumes) one training run in a run directory. */
import { availableParallelism } from 'node:os';
import { evaluate, evaluatesInBackground, holdOut, train, type EpochStats, type ModelFile, type TrainOptions } from '@backprop/mlp';
import type { RunData } from './data.ts';
import { createReporter, type ReportMode } from './progress.ts';
import type { RunDir } from './rundir.ts';
import { exitInterrupted } from '../process.ts';

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
   * What Ctrl-C prints after "interrupted during epoch N; the run resumes after epoch M, the last
   * one saved; ": how to go on (by default, `continue with: backprop train --resume DIR`); null
   * prints nothing (a child of the experiment runner, which says it once for all its runs).
   */
  onInterrupt?: string | null;
  /** Where each epoch's result line goes (`createReporter`'s `results`): stderr unless told. */
  results?: NodeJS.WritableStream;
  /** How many threads, and whether evaluation runs beside training (`train`'s TrainOptions; one thread by default). */
  train?: TrainOptions;
}

/** The threads a run uses unless told: two where there are two cores (one trains, one evaluates). */
export function defaultThreads(jobs = 1): number {
  return Math.max(1, Math.min(2, Math.floor(availableParallelism() / jobs)));
}

/**
 * BACKPROP_EVALUATION_THREAD=1 evaluates in the second thread whatever the run's size (with two
 * threads or more), =0 never; unset, where it pays (`evaluatesInBackground`). For tests, and to compare.
 */
export function evaluationThreadSetting(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const v = env.BACKPROP_EVALUATION_THREAD;
  if (v === undefined || v === '') return undefined;
  if (v !== '0' && v !== '1') throw new Error(`BACKPROP_EVALUATION_THREAD=${v}: expected 1 (always, with --threads 2) or 0 (never)`);
  return v === '1';
}

export async function executeRun(run: RunDir, { mode, label = '', data, model, onInterrupt, results, train: options }: RunOptions): Promise<RunResult> {
  const { config } = run;
  run.useData(data);
  const state = run.state(model);
  const { fit, validation } = holdOut(data.train, config);
  const sets = [fit, data.test, ...(validation ? [validation] : [])];
  const parameters = state.net.parameters().reduce((a, p) => a + p.size, 0);
  const reporter = createReporter(mode, Math.ceil(fit.count / config.batchSize), config.epochs, {
    label,
    results,
    background: evaluatesInBackground(config, state, sets, options ?? {}),
    epochWork: 3 * parameters * fit.count,
    images: { train: fit.count, evaluated: sets.reduce((a, d) => a + d.count, 0) },
  });
  // The last epoch whose training state is on disk: where a resume starts.
  let saved = state.epoch;
  // Ctrl-C: every file on disk is whole (atomic writes); restore the terminal and say where and how to go on.
  const interrupted = () => {
    reporter.stop();
    const hint = onInterrupt === undefined ? `continue with: backprop train --resume ${run.dir}` : onInterrupt;
    const from = saved ? `the run resumes after epoch ${saved}, the last one saved` : 'no epoch is saved yet, the run starts again from epoch 1';
    const during = state.epoch < config.epochs ? `epoch ${state.epoch + 1}` : `the evaluation of epoch ${state.epoch}`;
    exitInterrupted(hint === null ? null : `\ninterrupted during ${during}; ${from}; ${hint}`);
  };
  process.once('SIGINT', interrupted);
  // The iteration losses of each epoch not yet saved.
  const losses = new Map<number, number[]>();
  const lossesOf = (epoch: number) => losses.get(epoch) ?? (losses.set(epoch, []), losses.get(epoch)!);
  let outcome;
  try {
    // An epoch trained and checkpointed whose evaluation the last process did not live to log (it
    // was in the second thread): evaluated now, from its checkpoint, as it would have been then.
    for (const epoch of run.unevaluatedEpochs) {
      const trained = run.trainedEpoch(epoch);
      const net = epoch === state.epoch ? state.net : run.networkAt(epoch, model);
      const started = performance.now();
      const [onTrain, onTest, onValidation] = sets.map((d) => evaluate(net, d, config.loss));
      const stats: EpochStats = {
        ...trained,
        train: onTrain,
        test: onTest,
        validation: onValidation,
        seconds: trained.seconds + (performance.now() - started) / 1000,
      };
      run.logEpoch(stats);
      reporter.trained(trained);
      reporter.epoch(stats);
    }
    // Early stopping counts from the lowest validation loss in the log.
    state.best = run.bestValidation();
    outcome = await train(
      config,
      data,
      state,
      {
        onIteration: (i, epoch, loss) => {
          lossesOf(epoch).push(loss);
          reporter.iteration(i, epoch, loss);
        },
        // The training state after an epoch is on disk before anything waits for an evaluation.
        onTrained: (trained, s) => {
          run.endTraining(trained, lossesOf(trained.epoch), s);
          losses.delete(trained.epoch);
          saved = trained.epoch;
          reporter.trained(trained);
        },
        onEpoch: (stats) => {
          run.logEpoch(stats);
          reporter.epoch(stats);
        },
      },
      options,
    );
  } finally {
    process.off('SIGINT', interrupted);
    reporter.stop();
  }
  const last = run.epochLines().at(-1);
  const result: RunResult = {
    status: outcome.status,
    message: outcome.status === 'diverged' ? outcome.message : undefined,
    ...Object.fromEntries(
      ['trainAccuracy', 'testAccuracy', 'trainMse', 'testMse', 'trainMae', 'testMae'].filter((k) => last && k in last).map((k) => [k, last![k] as number]),
    ),
    ...(outcome.status === 'done' && outcome.stoppedEarly && { stoppedEarly: true }),
    ...(outcome.state.best && { bestEpoch: outcome.state.best.epoch }),
  };
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // of this process, in MiB
  run.finish(
    outcome.state,
    { ...result, epochs: outcome.state.epoch, iterations: outcome.state.iteration, peakRssMB, finished: new Date().toISOString() },
    lossesOf(outcome.state.epoch + 1),
  );
  return result;
}
