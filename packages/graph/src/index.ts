/**
 * @backprop/graph: reverse-mode automatic differentiation over matrix ops.
 *
 * Tensors live on `ndarray`; a `Tape` records ops as they run and backpropagates through them;
 * `gradcheck` compares its gradients with finite differences.
 *
 * @module @backprop/graph
 */
export { Tensor, tensor, zeros, full, formatShape, allocate, dtypeOf } from './tensor.ts';
export type { DType, Data, NdArray, Nested, Shape, TensorOptions } from './tensor.ts';
export { Tape } from './tape.ts';
export { RowSparseTensor, addScaledRows } from './rowsparse.ts';
export { tidy, keep, Scope, Memory, defaultMemory } from './kernels/memory.ts';
export { setThreads, getThreads, runningThreads } from './kernels/wasm.ts';
export type { TapeOptions, TapeRecord, BackwardOptions } from './tape.ts';
export type { DrawOptions } from './draw.ts';
export { defineOp, wrap, operand } from './op.ts';
export type { Op, Forward, Gradients, Operand } from './op.ts';
export type { Conv2dOptions, Pair } from './ops/conv.ts';
export type { Pool2dOptions, AvgPool2dOptions } from './ops/pool.ts';
export * as ops from './ops/index.ts';
export { updateRunningStats, type BatchNormMode, type BatchStats, type RunningStats } from './ops/norm.ts';
export { gradcheck, gradgradcheck } from './gradcheck.ts';
export { grad, vjp, jvp, hvp, jacobian, hessian, type Fn } from './functional.ts';
export type { GradcheckOptions, GradcheckReport, InputReport, CheckedFunction } from './gradcheck.ts';
export { Rng } from './random.ts';
export { opCases, opOfCase, type OpCase } from './opcases.ts';
export * as kernels from './kernels/index.ts';
export * as nn from './nn/index.ts';
export { SGD, Adam, AdamW, clipGradNorm, globalGradNorm, type Optimizer, type OptimizerOptions, type SGDOptions, type AdamOptions } from './optim.ts';
export { constant, stepDecay, exponential, cosine, warmup, LRScheduler, type Schedule } from './schedules.ts';
