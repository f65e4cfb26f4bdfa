/**
 * The messages between a page and its training worker (mnist-worker.ts). One worker trains one run at a
 * time, single-threaded, with @backprop/mlp's `train`: the same seed and subset give the bits
 * `backprop train` gives.
 */
import type { ActivationName, EpochStats, InitName, LossName, OptimizerName } from '@backprop/mlp/core';

/** What a run trains: the CLI's settings of the same names (`backprop train --layers ... --subset N`). */
export interface RunSettings {
  layers: number[];
  activation: ActivationName;
  loss: LossName;
  lr: number;
  batchSize: number;
  epochs: number;
  init: InitName;
  optimizer: OptimizerName;
  seed: number;
  /** Train on the first `subset` training images and test on the first ceil(subset / 6), as --subset does. */
  subset: number;
  /**
   * 'lenet': the model file examples/models/lenet.ts (`--model`) instead of the MLP of `layers`,
   * `activation` and `init` (it has its own initialisers); 'mlp' or absent: the MLP.
   */
  model?: 'mlp' | 'lenet';
}

export type ToWorker =
  /** `data`: the URL of the directory holding MNIST's four IDX files (gzip-compressed, `.gz`), relative to the worker's. */
  | { type: 'start'; run: RunSettings; data: string }
  | { type: 'stop' }
  | { type: 'continue' }
  /** The ten scores of one 28x28 image (784 values in [0, 1], row-major) under the network as it is now. */
  | { type: 'scores'; id: number; pixels: Float32Array };

export type FromWorker =
  | { type: 'loading'; what: string }
  | { type: 'started'; trainImages: number; testImages: number; stepsPerEpoch: number }
  /** The losses of the iterations since the last progress message (`iteration` is the last one's number, from 1). */
  | { type: 'progress'; iteration: number; epoch: number; losses: number[] }
  | { type: 'epoch'; stats: EpochStats }
  | { type: 'stopped'; iteration: number }
  | { type: 'continued' }
  /** The run's end: its status, and the weights as the parameters hold them (W1, b1, W2, b2, ...). */
  | { type: 'done'; status: 'done' | 'diverged'; message?: string; weights: Float32Array[] }
  | { type: 'scores'; id: number; scores: number[] | null }
  | { type: 'error'; message: string };
