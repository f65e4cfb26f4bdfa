/** Every built-in op. Adding an op is one definition (with `defineOp`) and one line here. */
export { matmul, transpose, add, sub, mul, div, maximum, minimum } from './binary.ts';
export {
  neg,
  exp,
  log,
  sqrt,
  abs,
  square,
  relu,
  tanh,
  sigmoid,
  scale,
  pow,
  elu,
  tanhBackward,
  reluBackward,
  sigmoidBackward,
  softplus,
  leakyRelu,
  gelu,
  geluBackward,
} from './unary.ts';
export { sum, mean, max, logSumExp, softmax, logSoftmax, pick, softmaxBackward, logSoftmaxBackward, scatterPick } from './reduce.ts';
export { reshape, broadcastTo, sumToShape, flatten, concat, stack, narrow, pad } from './shape.ts';
export { gather, scatterAdd, where } from './indexing.ts';
export { dropout, layerNorm, batchNorm, standardize, standardizeBackward } from './norm.ts';
export { hingeLoss, crossEntropy, squaredError, mseLoss } from './loss.ts';
export { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.ts';
export { maxPool2d, maxPool2dBackward, maxPool2dPick, avgPool2d, avgPool2dBackward } from './pool.ts';
export { einsum } from './einsum.ts';
