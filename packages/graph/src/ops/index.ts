/** Every built-in op. Adding an op is one definition (with `defineOp`) and one line here. */
export { matmul, transpose, add, sub, mul, div, maximum, minimum } from './binary.ts';
export { neg, exp, log, sqrt, abs, square, relu, tanh, sigmoid, scale, pow, elu, tanhBackward, sigmoidBackward } from './unary.ts';
export { sum, mean, max, softmax, logSoftmax, pick, softmaxBackward, logSoftmaxBackward, scatterPick } from './reduce.ts';
export { reshape, broadcastTo, sumToShape } from './shape.ts';
export { hingeLoss, crossEntropy, squaredError } from './loss.ts';
