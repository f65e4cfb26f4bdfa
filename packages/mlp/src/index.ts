/**
 * @backprop/mlp: the paper's multilayer perceptrons on @backprop/graph, networks defined in model
 * files, MNIST, training any of them, and the hand-derived backward pass of §2.1 as an independent
 * check of the tape.
 *
 * @module @backprop/mlp
 */
export { activations, activationNames, type Activation, type ActivationName } from './activations.ts';
export { lossOnTape, lossNames, oneHot, type LossName } from './losses.ts';
export { initNames, weightSampler, type InitName } from './init.ts';
export { Dense, MLP, MLP_FORMAT, activate, type MLPSpec } from './mlp.ts';
export type { Network, ForwardMode } from './network.ts';
export { ModelNetwork, MODEL_FORMAT } from './model.ts';
export type { ModelDefinition, ModelFile, ParameterSpec, ParameterInit, StateSpec, ForwardContext, HandBackwardInput, HandBackwardResult } from './model.ts';
export { loadModelFile, hashModelFile, checkDefinition } from './modelfile.ts';
export { handBackward, lossAndGradient, type HandResult } from './hand.ts';
export { createOptimizer, globalGradNorm, optimizerNames, SGD, Momentum, Adam, type GradientOptions, type Optimizer, type OptimizerName, type OptimizerOptions } from './optim.ts';
export { learningRate, scheduleNames, type ScheduleConfig, type ScheduleName } from './schedule.ts';
export { Dataset, defaultMnistDir, loadMnist, loadSplit, readIdx, type Mnist, type Idx } from './mnist.ts';
export { train, evaluatesInBackground, startState, evaluate, predict, scores, argmaxRows, paperConfig, holdOut, trainConfigProblem } from './train.ts';
export type { TrainConfig, TrainSettings, TrainState, TrainHooks, TrainOptions, TrainOutcome, EpochStats, Evaluation } from './train.ts';
export { saveModel, loadModel, readTensorFile, restoreNetwork, encodeSafetensors, decodeSafetensors, type LoadedModel } from './safetensors.ts';
export { writeFileAtomic, fileError, type WriteFn } from './files.ts';
