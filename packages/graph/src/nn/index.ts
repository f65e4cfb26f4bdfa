/**
 * Layers (`nn`): torch.nn's names and state_dict naming, Flax's separation of the layer (a
 * description) from its tensors (a flat map by name), and forward passes on a tape.
 */
export { declared, runLayer, expectInput } from './layer.ts';
export type { Layer, LayerContext, ParameterSpec, ParameterInit, StateSpec, Declared, Runtime } from './layer.ts';
export { Model, initParameter, initState, type ModelMode } from './model.ts';
export { Linear, Embedding, activationNames, type ActivationName, type LinearOptions } from './linear.ts';
export { Conv2d, MaxPool2d, AvgPool2d, Flatten, type Conv2dLayerOptions } from './conv.ts';
export { LayerNorm, BatchNorm, Dropout, type NormOptions } from './norm.ts';
export { Sequential, Residual, Activation, Lambda } from './containers.ts';
