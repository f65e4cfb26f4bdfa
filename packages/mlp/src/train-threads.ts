/**
 * `train` as the package exports it in Node: with `threads: 2`, each epoch's evaluation runs in a
 * worker thread (evaluation-thread.ts) while the next epoch trains, with the same bits. The core
 * (`@backprop/mlp/core`, for browsers) exports train.ts's, which evaluates in the thread it runs in.
 */
import { EvaluationThread } from './evaluation-thread.ts';
import type { Dataset } from './dataset.ts';
import { train as trainHere, type TrainHooks, type TrainOptions, type TrainOutcome, type TrainSettings, type TrainState } from './train.ts';

/**
 * Trains from `state` (a fresh one, or one restored from a checkpoint) to `config.epochs`.
 * A loss that turns NaN or infinite stops the run and says so; what was logged is kept.
 */
export function train(
  config: TrainSettings,
  data: { train: Dataset; test: Dataset },
  state: TrainState,
  hooks: TrainHooks = {},
  options: TrainOptions = {},
): Promise<TrainOutcome> {
  return trainHere(config, data, state, hooks, options, (net, sets, loss) => new EvaluationThread(net, sets, loss));
}
