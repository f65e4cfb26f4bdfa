/** Mini-batch training (§2.1 and §3): a seeded shuffle each epoch, the loss of every iteration, accuracy after every epoch. */
import { getThreads, kernels, Rng, setThreads, Tape, tensor, tidy, type Tensor } from '@backprop/graph';
import type { ActivationName } from './activations.ts';
import type { InitName } from './init.ts';
import { batchLoss, lossNames, type LossFunction, type LossName, type TrainLoss } from './losses.ts';
import { ModelNetwork } from './model.ts';
import { Dense, MLP } from './mlp.ts';
import type { Dataset } from './dataset.ts';
import type { Network } from './network.ts';
import { createOptimizer, type Optimizer, type OptimizerName } from './optim.ts';
import { learningRate, type ScheduleName } from './schedule.ts';

export interface TrainConfig {
  layers: number[];
  activation: ActivationName;
  /** A built-in loss, or `model`: the model file's own. */
  loss: TrainLoss;
  lr: number;
  batchSize: number;
  epochs: number;
  init: InitName;
  optimizer: OptimizerName;
  seed: number;
  /** The learning-rate schedule (learningRate in schedule.ts); constant by default. */
  schedule?: ScheduleName;
  stepEvery?: number;
  stepGamma?: number;
  /** Epochs of linear learning-rate warm-up. */
  warmup?: number;
  /** L2 weight decay on the weight matrices. */
  weightDecay?: number;
  /** Clip the gradients by global norm to this. */
  clipNorm?: number;
  /**
   * Hold out the last `validation` images of the training set (trained on the rest), evaluated
   * after every epoch; with `patience`, training stops once the validation loss has not improved
   * for that many epochs.
   */
  validation?: number;
  patience?: number;
}

/**
 * What the training loop itself needs of the settings: all but the MLP's architecture (a model
 * file's network brings its own), which `startState` uses to make the network.
 */
export type TrainSettings = Omit<TrainConfig, 'layers' | 'activation' | 'init'>;

/** What `startState` needs besides the network: the generator's seed and the optimiser's settings. */
type StartSettings = Pick<TrainConfig, 'seed' | 'optimizer' | 'lr' | 'weightDecay' | 'clipNorm'>;

/** The paper's final network (§3.5): 784-800-100-10, tanh, hinge, batch 8, lr 0.01, N(0,1) x 1e-3, 25 epochs. */
export const paperConfig: TrainConfig = {
  layers: [784, 800, 100, 10],
  activation: 'tanh',
  loss: 'hinge',
  lr: 0.01,
  batchSize: 8,
  epochs: 25,
  init: 'paper',
  optimizer: 'sgd',
  seed: 1,
};

export interface Evaluation {
  /** Classification: the fraction of examples whose largest score is their label. */
  accuracy?: number;
  /** Regression: the mean squared error over every target value (with every loss but mae). */
  mse?: number;
  /** Regression with the mae loss: the mean absolute error over every target value. */
  mae?: number;
  loss: number;
  /** confusion[true][predicted] counts (classification; empty for regression). */
  confusion: number[][];
}

/** The number an evaluation is judged by: accuracy for classification, MSE or MAE for regression. */
export function metricOf(e: Evaluation): { name: 'accuracy' | 'mse' | 'mae'; value: number } {
  if (e.accuracy !== undefined) return { name: 'accuracy', value: e.accuracy };
  return e.mae !== undefined ? { name: 'mae', value: e.mae } : { name: 'mse', value: e.mse ?? NaN };
}

/** The loss function of a model file's network (for the `model` loss). */
const ownLoss = (net: Network): LossFunction | undefined => (net instanceof ModelNetwork ? net.model.definition.loss : undefined);

export interface EpochStats {
  epoch: number;
  /** Mean of the iteration losses of this epoch. */
  meanIterationLoss: number;
  train: Evaluation;
  test: Evaluation;
  /** On the held-out images, when config.validation is set. */
  validation?: Evaluation;
  /** The learning rate of the epoch's last step. */
  lr: number;
  seconds: number;
}

/** Everything a run needs to continue exactly where it stopped. */
export interface TrainState<N extends Network = Network> {
  net: N;
  optimizer: Optimizer;
  rng: Rng;
  /** Epochs completed. */
  epoch: number;
  /** Iterations completed. */
  iteration: number;
  /** With a validation set: the epoch of the lowest validation loss so far, and that loss (early stopping counts from it). */
  best?: { epoch: number; loss: number };
}

/** An epoch whose training is done, before its evaluation. */
export interface TrainedEpoch {
  epoch: number;
  meanIterationLoss: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** The training's seconds (the epoch's `seconds` adds its evaluation's). */
  seconds: number;
}

export interface TrainHooks {
  onIteration?: (iteration: number, epoch: number, loss: number) => void;
  /**
   * After every epoch's training, before its evaluation starts, with the live state after it: the
   * moment to checkpoint it, so that a finished epoch is on disk before the next one's work can be
   * lost, whatever its evaluation is doing. Nothing trains until it returns. In order.
   */
  onTrained?: (trained: TrainedEpoch, state: TrainState) => void | Promise<void>;
  /**
   * After every epoch's evaluation (to log it), in order, with the state after that epoch. With
   * evaluation in a second thread, it comes while the next epoch trains (its iterations may already
   * have been reported), with a copy of the state after the epoch.
   */
  onEpoch?: (stats: EpochStats, state: TrainState) => void | Promise<void>;
  /**
   * Where the loop lets other work in (about every tenth of a second, between two steps): a promise
   * it returns holds the run there until it settles, which is how a page's worker stops and
   * continues a run (the steps after it are the bits they would have been).
   */
  onYield?: () => void | Promise<void>;
}

export interface TrainOptions {
  /**
   * Threads the run may use (by default, what `setThreads` of @backprop/graph says, and no
   * evaluation thread). The products of training and evaluation are split among them (the graph's
   * kernel threads, set for the run and restored after it). With 2 or more, an MLP's evaluation
   * after each epoch may also run in a worker thread while the next epoch trains, when that pays
   * (`evaluatesInBackground`): while it runs, training's products use one thread fewer, so that the
   * run keeps to `threads` cores. The numbers are the same bits for every count.
   */
  threads?: number;
  /** With 2 threads: evaluate in the worker whatever the size (true), or never (false); by default, when it pays. */
  evaluateInBackground?: boolean;
}

/**
 * An MLP's evaluations in a second thread (evaluation-thread.ts, in Node): the weights `net` holds
 * now, evaluated on the sets it was made for, while the caller trains on.
 */
export interface BackgroundEvaluation {
  evaluate(net: MLP): Promise<{ evaluations: Evaluation[]; seconds: number }>;
  close(): Promise<void>;
}

/** Starts a second thread evaluating networks of `net`'s architecture on `sets` with `loss`. */
export type StartBackground = (net: MLP, sets: Dataset[], loss: LossName) => BackgroundEvaluation;

export type TrainOutcome =
  /** `stoppedEarly`: the validation loss had not improved for `patience` epochs (state.best says since when). */
  | { status: 'done'; state: TrainState; epochs: EpochStats[]; stoppedEarly?: boolean }
  | { status: 'diverged'; state: TrainState; epochs: EpochStats[]; message: string };

/**
 * A fresh run: the network's weights, then every shuffle (and dropout mask), drawn from one
 * generator seeded with `config.seed`. The network is the config's MLP, or what `build` makes
 * (a model file's network) from the generator.
 */
export function startState(config: TrainConfig): TrainState<MLP>;
export function startState<N extends Network>(config: StartSettings, build: (rng: Rng) => N): TrainState<N>;
export function startState(config: StartSettings & Partial<TrainConfig>, build?: (rng: Rng) => Network): TrainState {
  const rng = Rng.seeded(config.seed);
  const net = build ? build(rng) : MLP.init({ sizes: config.layers!, activation: config.activation! }, rng, { init: config.init });
  const optimizer = createOptimizer(config.optimizer, net.parameters(), { lr: config.lr, weightDecay: config.weightDecay, clipNorm: config.clipNorm });
  return { net, optimizer, rng, epoch: 0, iteration: 0 };
}

/**
 * What is wrong with a config's training options taken together (each alone is the caller's to
 * check): the field to change and why; undefined when nothing is.
 */
export function trainConfigProblem(c: TrainSettings): { field: keyof TrainSettings; message: string } | undefined {
  const schedule = c.schedule ?? 'constant';
  if (schedule === 'step' && c.stepEvery === undefined) return { field: 'stepEvery', message: 'the step schedule needs it (the epochs between two steps)' };
  if (schedule !== 'step' && (c.stepEvery !== undefined || c.stepGamma !== undefined)) {
    return { field: c.stepEvery !== undefined ? 'stepEvery' : 'stepGamma', message: `only the step schedule uses it (the schedule is ${schedule})` };
  }
  if ((c.warmup ?? 0) >= c.epochs) return { field: 'warmup', message: `${c.warmup} epochs of warm-up leave none of the ${c.epochs} epochs at the full rate` };
  if (c.patience !== undefined && !c.validation)
    return { field: 'patience', message: 'early stopping needs a validation set (validation: the number of training images to hold out)' };
  return undefined;
}

/**
 * The training set split as config.validation says: the images trained on, and the last
 * `validation` images held out (the last ones, as Keras's validation_split takes them: the same
 * for every seed, so that runs of several seeds are judged on the same images).
 */
export function holdOut(train: Dataset, config: Pick<TrainConfig, 'validation'>): { fit: Dataset; validation?: Dataset } {
  const n = config.validation;
  if (!n) return { fit: train };
  if (n >= train.count) throw new Error(`train: validation ${n} leaves no training images (the training set has ${train.count}); hold out fewer`);
  return { fit: train.slice(0, train.count - n), validation: train.slice(train.count - n, train.count) };
}

/** Whether a run with a validation set has waited `patience` epochs for its validation loss to improve. */
function patienceRunOut(config: TrainSettings, state: TrainState): boolean {
  return config.patience !== undefined && state.best !== undefined && state.epoch - state.best.epoch >= config.patience;
}

/**
 * Trains from `state` (a fresh one, or one restored from a checkpoint) to `config.epochs`.
 * A loss that turns NaN or infinite stops the run and says so; what was logged is kept.
 * `startBackground` makes the second thread that `options.threads` allows (in Node, the package's
 * `train` passes one); without it every epoch is evaluated in this thread, with the same bits.
 */
export async function train(
  config: TrainSettings,
  data: { train: Dataset; test: Dataset },
  state: TrainState,
  hooks: TrainHooks = {},
  options: TrainOptions = {},
  startBackground?: StartBackground,
): Promise<TrainOutcome> {
  for (const [name, set] of Object.entries(data)) if (set.count === 0) throw new Error(`train: the ${name} set is empty`);
  const problem = trainConfigProblem(config);
  if (problem) throw new Error(`train: ${problem.field}: ${problem.message}`);
  const { fit, validation } = holdOut(data.train, config);
  const sets = [fit, data.test, ...(validation ? [validation] : [])];
  const net = state.net;
  const threads = options.threads,
    before = getThreads();
  if (threads !== undefined) await setThreads(threads);
  const background =
    startBackground && evaluatesInBackground(config, state, sets, options) ? startBackground(net as MLP, sets, config.loss as LossName) : undefined;
  // While the evaluation thread works, training's products leave it a core.
  const lend = background && threads !== undefined ? (evaluating: boolean) => void setThreads(evaluating ? Math.max(1, threads - 1) : threads) : undefined;
  try {
    return await trainEpochs(config, fit, sets, state, hooks, background, lend);
  } finally {
    await background?.close();
    if (threads !== undefined) await setThreads(before);
  }
}

/**
 * Whether a run evaluates in a second thread: with threads to spare, for an MLP (the worker builds
 * one), without early stopping (whose decision after an epoch needs its evaluation before the next
 * epoch starts), and, unless `evaluateInBackground` says, when the evaluations that overlap
 * training (all but the last) are worth more than starting the thread (about 0.5 s of CPU here):
 * 2e10 multiply-adds or more (the paper's network on all of MNIST does 5e10 an epoch).
 */
export function evaluatesInBackground(config: TrainSettings, state: TrainState, sets: Dataset[], { threads = 1, evaluateInBackground }: TrainOptions): boolean {
  const net = state.net;
  if (
    threads < 2 ||
    !(net instanceof MLP) ||
    sets[0].regression ||
    !lossNames.includes(config.loss as LossName) ||
    config.patience !== undefined ||
    evaluateInBackground === false
  )
    return false;
  if (evaluateInBackground) return true;
  const weights = net.sizes.slice(1).reduce((a, n, i) => a + n * net.sizes[i], 0);
  return (config.epochs - state.epoch - 1) * sets.reduce((a, d) => a + d.count, 0) * weights >= 2e10;
}

/** The epochs of `train`: each evaluated here, or by `background` while the next one trains. */
async function trainEpochs(
  config: TrainSettings,
  fit: Dataset,
  sets: Dataset[],
  state: TrainState,
  hooks: TrainHooks,
  background: BackgroundEvaluation | undefined,
  lend?: (evaluating: boolean) => void,
): Promise<TrainOutcome> {
  const { net, optimizer, rng } = state;
  const epochs: EpochStats[] = [];
  const order = new Int32Array(fit.count);
  const stepsPerEpoch = Math.ceil(fit.count / config.batchSize);
  // The last epoch's evaluation while it is out, then its onEpoch; one at a time, in order.
  let pending: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const finish = (stats: TrainedEpoch, evaluations: Evaluation[], after: TrainState) => {
    // Non-finite scores (an evaluation that overflows) are never logged as an epoch's result.
    const bad = evaluations.findIndex((e) => !(Number.isFinite(metricOf(e).value) && Number.isFinite(e.loss)));
    if (bad >= 0) {
      throw new Error(
        `train: the network's scores on the ${['training', 'test', 'validation'][bad]} images are not finite after epoch ${stats.epoch} (its activations overflow in evaluation); the epoch is not logged`,
      );
    }
    const [train, test, validation] = evaluations;
    const full: EpochStats = { epoch: stats.epoch, meanIterationLoss: stats.meanIterationLoss, train, test, validation, lr: stats.lr, seconds: stats.seconds };
    if (validation && validation.loss < (after.best?.loss ?? Infinity)) after.best = state.best = { epoch: full.epoch, loss: validation.loss };
    epochs.push(full);
    return hooks.onEpoch?.(full, after);
  };
  let yielded = performance.now();
  for (; state.epoch < config.epochs; ) {
    // Checked before an epoch too: a run killed after its last epoch's checkpoint ends here on resume.
    if (patienceRunOut(config, state)) return { status: 'done', state, epochs, stoppedEarly: true };
    const started = performance.now();
    order.forEach((_, i) => (order[i] = i));
    rng.shuffle(order);
    let total = 0,
      steps = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      // One step in a tidy scope: its batch, activations and the gradients the parameters let go of are freed for the next step.
      optimizer.lr = learningRate(config, state.iteration, stepsPerEpoch);
      const value = tidy(() => {
        const batch = fit.batch(order.subarray(start, start + config.batchSize), net.dtype);
        const tape = new Tape();
        const loss = batchLoss(tape, config.loss, net.forward(tape, batch.X, { training: true, rng }), batch, ownLoss(net));
        const value = loss.item();
        if (Number.isFinite(value)) {
          tape.backward(loss);
          optimizer.step();
        }
        return value;
      });
      if (!Number.isFinite(value)) {
        await pending; // the epoch before this one is logged and checkpointed first
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
        await nextTask();
        await hooks.onYield?.();
        yielded = performance.now();
        // A failed evaluation or checkpoint (a full disk) stops the run now, not an epoch later.
        if (failure) throw failure.error;
      }
    }
    state.epoch++;
    const trained: TrainedEpoch = { epoch: state.epoch, meanIterationLoss: total / steps, lr: optimizer.lr, seconds: (performance.now() - started) / 1000 };
    // Saved before anything waits on an evaluation (this epoch's, or the last one's still in the thread).
    await hooks.onTrained?.(trained, state);
    if (!background) {
      const evaluating = performance.now();
      const evaluations = sets.map((d) => evaluate(net, d, config.loss));
      await finish({ ...trained, seconds: trained.seconds + (performance.now() - evaluating) / 1000 }, evaluations, state);
      continue;
    }
    await pending;
    const after = snapshot(state as TrainState<MLP>);
    lend?.(true);
    pending = background.evaluate(after.net).then((r) => {
      lend?.(false);
      return finish({ ...trained, seconds: trained.seconds + r.seconds }, r.evaluations, after);
    });
    pending.catch((error) => (failure = { error })); // seen at the next yield, or where `pending` is awaited
  }
  await pending;
  return { status: 'done', state, epochs };
}

/** A promise settled after the tasks waiting now (timers, messages, signals) have run: setImmediate in Node, a MessageChannel elsewhere (a browser's setTimeout waits 4 ms once nested). */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  const channel = new MessageChannel();
  return new Promise<void>((r) => {
    channel.port1.onmessage = () => {
      channel.port1.close();
      r();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * A copy of the state after an epoch, in plain arrays (collected with it), for onEpoch once the
 * epoch's evaluation is in: the training goes on meanwhile (onTrained had the live state).
 */
function snapshot(state: TrainState<MLP>): TrainState<MLP> {
  const copy = (t: Tensor) => tensor(t.array.data.slice(t.array.offset, t.array.offset + t.size), { shape: t.shape });
  const { net, optimizer } = state;
  const layers = net.layers.map((l) => new Dense(copy(l.W), copy(l.b)));
  const kept = optimizer.state().map((b) => b.slice());
  const copyOnly = () => {
    throw new Error('train: the state of a finished epoch is a copy for its checkpoint; it does not train');
  };
  const frozen: Optimizer = { lr: optimizer.lr, params: [], step: copyOnly, zeroGrad: copyOnly, loadState: copyOnly, state: () => kept };
  const best = state.best && { ...state.best };
  return {
    net: new MLP({ sizes: net.sizes, activation: net.activation }, layers),
    optimizer: frozen,
    rng: Rng.fromState(state.rng.state()),
    epoch: state.epoch,
    iteration: state.iteration,
    best,
  };
}

/** Scores of a batch X in evaluation (no dropout, running statistics), without recording (the paper's MLP by `MLP.infer`: the same bits). */
export function scores(net: Network, X: Tensor): Tensor {
  if (net instanceof MLP) return net.infer(X);
  const tape = new Tape();
  return tape.noRecord(() => net.forward(tape, X, { training: false }));
}

/**
 * Accuracy, mean loss and confusion matrix of `net` on `data` (for regression targets: the mean
 * loss and the MSE, or the MAE with the mae loss). Scores that are not finite (NaN from a network
 * whose weights hold NaN, infinities from one whose activations overflow) make the accuracy or
 * error NaN, as they make the loss NaN: never a number that looks right.
 */
export function evaluate(net: Network, data: Dataset, loss: TrainLoss, batchSize = 1000): Evaluation {
  if (data.regression) return evaluateRegression(net, data, loss, batchSize);
  const classes = net.outputSize;
  if (classes < data.classes) throw new Error(`evaluate: the network has ${classes} outputs but the data has ${data.classes} classes`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0,
    totalLoss = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    tidy(() => {
      const batch = data.batch(
          Int32Array.from({ length: n }, (_, i) => start + i),
          net.dtype,
        ),
        y = batch.y;
      const S = scores(net, batch.X);
      const tape = new Tape();
      totalLoss += tape.noRecord(() => batchLoss(tape, loss, S, batch, ownLoss(net))).item() * n;
      const predicted = argmaxRows(S);
      if (kernels.firstNonFinite(S.array)) correct = totalLoss = NaN;
      for (let i = 0; i < n; i++) {
        confusion[y[i]][predicted[i]]++;
        if (predicted[i] === y[i]) correct++;
      }
    });
  }
  return { accuracy: correct / data.count, loss: totalLoss / data.count, confusion };
}

/** The mean loss and the MSE (or MAE) of `net` on regression targets, summed in float64. */
function evaluateRegression(net: Network, data: Dataset, loss: TrainLoss, batchSize: number): Evaluation {
  if (net.outputSize !== data.targetSize)
    throw new Error(`evaluate: the network has ${net.outputSize} outputs but the data has ${data.targetSize} target values per example`);
  let totalLoss = 0,
    totalError = 0;
  const absolute = loss === 'mae';
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    tidy(() => {
      const batch = data.batch(
        Int32Array.from({ length: n }, (_, i) => start + i),
        net.dtype,
      );
      const S = scores(net, batch.X);
      const tape = new Tape();
      totalLoss += tape.noRecord(() => batchLoss(tape, loss, S, batch, ownLoss(net))).item() * n;
      const s = S.toFlatArray(),
        t = batch.Y!.toFlatArray(); // in row-major order, whatever view the forward returned
      for (let i = 0; i < s.length; i++) totalError += absolute ? Math.abs(s[i] - t[i]) : (s[i] - t[i]) ** 2;
    });
  }
  const error = totalError / (data.count * data.targetSize);
  return { ...(absolute ? { mae: error } : { mse: error }), loss: totalLoss / data.count, confusion: [] };
}

/**
 * The predicted class of each row of scores S: the index of its largest score. A NaN counts as
 * the largest (as NumPy's argmax has it), so that a NaN score is never passed over unseen.
 */
export function argmaxRows(S: Tensor): Int32Array {
  return kernels.argmaxRows(S.array);
}

/** Predicted classes for images X [n, features] in [0, 1]; scores that are not finite are refused, not predicted. */
export function predict(net: Network, X: Tensor): Int32Array {
  const S = scores(net, X);
  const bad = kernels.firstNonFinite(S.array);
  if (bad)
    throw new Error(
      `predict: the scores of example ${bad[0]} hold ${S.array.get(bad[0], bad[1])} (the network's weights or the input hold NaN or infinity, or its activations overflow)`,
    );
  return argmaxRows(S);
}
