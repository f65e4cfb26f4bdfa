/**
 * @backprop/mlp/core: everything of the package that runs in a browser (no Node built-in on its
 * path): the networks, losses, the hand-derived backward pass, optimisers, data sets parsed from
 * bytes (IDX, NumPy) and the training loop, which evaluates in the thread it runs in (a page's Web
 * Worker). `@backprop/mlp` is this and the parts that read and write files or start threads.
 *
 * @module @backprop/mlp/core
 */
export { activations, activationNames, type Activation, type ActivationName } from './activations.ts';
export { batchLoss, lossOnTape, lossNames, oneHot, trainLossNames, type BatchTargets, type LossFunction, type LossName, type TrainLoss } from './losses.ts';
export { initNames, weightSampler, type InitName } from './init.ts';
export { Dense, MLP, MLP_FORMAT, MAX_TENSOR_SIZE, activate, layersProblem, parseLayers, type MLPSpec } from './mlp.ts';
export type { Network, ForwardMode } from './network.ts';
export { ModelNetwork, MODEL_FORMAT } from './model.ts';
export type { ModelDefinition, ModelFile, ParameterSpec, ParameterInit, StateSpec, ForwardContext, HandBackwardInput, HandBackwardResult } from './model.ts';
export { modelFromLayers, type ModelFromLayersOptions } from './layers.ts';
export { handBackward, lossAndGradient, type HandResult } from './hand.ts';
export {
  createOptimizer,
  globalGradNorm,
  optimizerNames,
  SGD,
  Adam,
  type GradientOptions,
  type Optimizer,
  type OptimizerName,
  type OptimizerOptions,
} from './optim.ts';
export { learningRate, scheduleNames, type ScheduleConfig, type ScheduleName } from './schedule.ts';
export { Dataset, idxDataset, parseIdx, type DatasetShape, type Idx, type Targets } from './dataset.ts';
export { parseNpy, parseNpz, type NpyArray } from './npy.ts';
export {
  train,
  evaluatesInBackground,
  startState,
  evaluate,
  metricOf,
  predict,
  scores,
  argmaxRows,
  paperConfig,
  holdOut,
  trainConfigProblem,
} from './train.ts';
export type {
  BackgroundEvaluation,
  StartBackground,
  TrainConfig,
  TrainSettings,
  TrainState,
  TrainHooks,
  TrainedEpoch,
  TrainOptions,
  TrainOutcome,
  EpochStats,
  Evaluation,
} from './train.ts';
