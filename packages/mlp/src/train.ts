/** Mini-batch training (§2.1 and §3): a seeded shuffle each epoch, the loss of every iteration, accuracy after every epoch. */
import { kernels, Rng, Tape, tidy, type Tensor } from '@backprop/graph';
import type { ActivationName } from './activations.ts';
import type { InitName } from './init.ts';
import { lossOnTape, type LossName } from './losses.ts';
import { MLP } from './mlp.ts';
import type { Dataset } from './mnist.ts';
import { createOptimizer, type Optimizer, type OptimizerName } from './optim.ts';

export interface TrainConfig {
  layers: number[];
  activation: ActivationName;
  loss: LossName;
  lr: number;
  batchSize: number;
  epochs: number;
  init: InitName;
  optimizer: OptimizerName;
  seed: number;
}

/** The paper's final network (§3.5): 784-800-100-10, tanh, hinge, batch 8, lr 0.01, N(0,1) x 1e-3, 25 epochs. */
export const paperConfig: TrainConfig = {
  layers: [784, 800, 100, 10], activation: 'tanh', loss: 'hinge', lr: 0.01, batchSize: 8, epochs: 25, init: 'paper', optimizer: 'sgd', seed: 1,
};

export interface Evaluation {
  accuracy: number;
  loss: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export interface EpochStats {
  epoch: number;
  /** Mean of the iteration losses of this epoch. */
  meanIterationLoss: number;
  train: Evaluation;
  test: Evaluation;
  seconds: number;
}

/** Everything a run needs to continue exactly where it stopped. */
export interface TrainState {
  net: MLP;
  optimizer: Optimizer;
  rng: Rng;
  /** Epochs completed. */
  epoch: number;
  /** Iterations completed. */
  iteration: number;
}

export interface TrainHooks {
  onIteration?: (iteration: number, epoch: number, loss: number) => void;
  /** After every epoch (to log and to checkpoint `state`). */
  onEpoch?: (stats: EpochStats, state: TrainState) => void | Promise<void>;
}

export type TrainOutcome =
  | { status: 'done'; state: TrainState; epochs: EpochStats[] }
  | { status: 'diverged'; state: TrainState; epochs: EpochStats[]; message: string };

/** A fresh run: the network's weights, then every shuffle, drawn from one generator seeded with `config.seed`. */
export function startState(config: TrainConfig): TrainState {
  const rng = Rng.seeded(config.seed);
  const net = MLP.init({ sizes: config.layers, activation: config.activation }, rng, { init: config.init });
  return { net, optimizer: createOptimizer(config.optimizer, net.parameters(), { lr: config.lr }), rng, epoch: 0, iteration: 0 };
}

/**
 * Trains from `state` (a fresh one, or one restored from a checkpoint) to `config.epochs`.
 * A loss that turns NaN or infinite stops the run and says so; what was logged is kept.
 */
export async function train(config: TrainConfig, data: { train: Dataset; test: Dataset }, state: TrainState, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  for (const [name, set] of Object.entries(data)) if (set.count === 0) throw new Error(`train: the ${name} set is empty`);
  const { net, optimizer, rng } = state;
  const epochs: EpochStats[] = [];
  const order = new Int32Array(data.train.count);
  let yielded = performance.now();
  for (; state.epoch < config.epochs; ) {
    const started = performance.now();
    order.forEach((_, i) => (order[i] = i));
    rng.shuffle(order);
    let total = 0, steps = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      // One step in a tidy scope: its batch, activations and the gradients the parameters let go of are freed for the next step.
      const value = tidy(() => {
        const { X, y } = data.train.batch(order.subarray(start, start + config.batchSize), net.dtype);
        const tape = new Tape();
        const loss = lossOnTape(tape, config.loss, net.forward(tape, X), y);
        const value = loss.item();
        if (Number.isFinite(value)) {
          tape.backward(loss);
          optimizer.step();
        }
        return value;
      });
      if (!Number.isFinite(value)) {
        const message =
          `training diverged: the loss is ${value} at epoch ${state.epoch + 1}, iteration ${state.iteration + 1} ` +
          `(learning rate ${config.lr} is too high for this network; try a smaller --lr)`;
        return { status: 'diverged', state, epochs, message };
      }
      total += value;
      steps++;
      state.iteration++;
      hooks.onIteration?.(state.iteration, state.epoch + 1, value);
      // Let timers, signals and a closed IPC channel be seen within a tenth of a second, however slow a step.
      if (performance.now() - yielded > 100) {
        await new Promise((r) => setImmediate(r));
        yielded = performance.now();
      }
    }
    state.epoch++;
    const stats: EpochStats = {
      epoch: state.epoch,
      meanIterationLoss: total / steps,
      train: evaluate(net, data.train, config.loss),
      test: evaluate(net, data.test, config.loss),
      seconds: (performance.now() - started) / 1000,
    };
    epochs.push(stats);
    await hooks.onEpoch?.(stats, state);
  }
  return { status: 'done', state, epochs };
}

/** Scores for every example of `data`, in batches, without recording. */
export function scores(net: MLP, X: Tensor): Tensor {
  const tape = new Tape();
  return tape.noRecord(() => net.forward(tape, X));
}

/**
 * Accuracy, mean loss and confusion matrix of `net` on `data`. NaN scores (a network whose
 * weights hold NaN) make the accuracy NaN, as they make the loss NaN: never a number that looks right.
 */
export function evaluate(net: MLP, data: Dataset, loss: LossName, batchSize = 1000): Evaluation {
  const classes = net.sizes[net.sizes.length - 1];
  if (classes < data.classes) throw new Error(`evaluate: the network has ${classes} outputs but the data has ${data.classes} classes`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0, totalLoss = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    tidy(() => {
      const { X, y } = data.batch(Int32Array.from({ length: n }, (_, i) => start + i), net.dtype);
      const S = scores(net, X);
      const tape = new Tape();
      totalLoss += tape.noRecord(() => lossOnTape(tape, loss, S, y)).item() * n;
      const predicted = argmaxRows(S);
      if (firstNaNRow(S, predicted) >= 0) correct = NaN;
      for (let i = 0; i < n; i++) {
        confusion[y[i]][predicted[i]]++;
        if (predicted[i] === y[i]) correct++;
      }
    });
  }
  return { accuracy: correct / data.count, loss: totalLoss / data.count, confusion };
}

/**
 * The predicted class of each row of scores S: the index of its largest score. A NaN counts as
 * the largest (as NumPy's argmax has it), so that a NaN score is never passed over unseen.
 */
export function argmaxRows(S: Tensor): Int32Array {
  return kernels.argmaxRows(S.array);
}

/** The first row of S whose scores hold NaN (its argmax is a NaN), or -1. */
function firstNaNRow(S: Tensor, argmax: Int32Array): number {
  const c = S.shape[1], s = S.array.data;
  return argmax.findIndex((j, i) => Number.isNaN(s[i * c + j]));
}

/** Predicted classes for images X [n, features] in [0, 1]; scores holding NaN are refused, not predicted. */
export function predict(net: MLP, X: Tensor): Int32Array {
  const S = scores(net, X);
  const predicted = argmaxRows(S);
  const bad = firstNaNRow(S, predicted);
  if (bad >= 0) throw new Error(`predict: the scores of example ${bad} are NaN (the network's weights or the input hold NaN or infinity)`);
  return predicted;
}
