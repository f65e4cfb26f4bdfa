/**
 * @backprop/mlp: the paper's multilayer perceptrons on @backprop/graph, networks defined in model
 * files, MNIST, training any of them, and the hand-derived backward pass of §2.1 as an independent
 * check of the tape.
 *
 * @module @backprop/mlp
 */
export { activations, activationNames, type Activation, type ActivationName } from './activations.ts';
export { batchLoss, lossOnTape, lossNames, oneHot, trainLossNames, type BatchTargets, type LossFunction, type LossName, type TrainLoss } from './losses.ts';
export { initNames, weightSampler, type InitName } from './init.ts';
export { Dense, MLP, MLP_FORMAT, MAX_TENSOR_SIZE, activate, layersProblem, type MLPSpec } from './mlp.ts';
export type { Network, ForwardMode } from './network.ts';
export { ModelNetwork, MODEL_FORMAT } from './model.ts';
export type { ModelDefinition, ModelFile, ParameterSpec, ParameterInit, StateSpec, ForwardContext, HandBackwardInput, HandBackwardResult } from './model.ts';
export { modelFromLayers, type ModelFromLayersOptions } from './layers.ts';
export { loadModelFile, hashModelFile, checkDefinition, type ModelOptions } from './modelfile.ts';
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
export { Dataset, defaultMnistDir, loadMnist, loadSplit, readIdx, type DatasetShape, type DataSets, type Mnist, type Idx, type Targets } from './mnist.ts';
export { isArrayData, loadArrays, loadData } from './arrays.ts';
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
export type { TrainConfig, TrainSettings, TrainState, TrainHooks, TrainedEpoch, TrainOptions, TrainOutcome, EpochStats, Evaluation } from './train.ts';
export { saveModel, loadModel, readTensorFile, restoreNetwork, encodeSafetensors, decodeSafetensors, type LoadedModel } from './safetensors.ts';
export { writeFileAtomic, fileError, readUserFile, MAX_FILE_BYTES, type WriteFn } from './files.ts';
