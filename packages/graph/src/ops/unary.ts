/**
 * Unary ops. Derivatives that are cheaper from the output (exp, tanh, sigmoid, elu) are taken
 * from the saved output y; the others from the saved input x.
 */
import * as k from '../kernels/index.ts';
import type { NdArray, Tensor } from '../tensor.ts';
import { defineOp, wrap } from '../op.ts';

/** Whole-array kernels for a unary op's f and its backward (faster than mapping the scalar functions). */
interface Kernels {
  f: (x: NdArray) => NdArray;
  df: (g: NdArray, x: NdArray, y: NdArray) => NdArray;
}

/**
 * A unary op whose backward is g times a local derivative of the input x and output y. `kernels`,
 * when given, compute both over whole arrays (the scalar `f` and `df` stay the reference in tests).
 */
function unary(name: string, f: (x: number) => number, df: (g: number, x: number, y: number) => number, rule: string, kernels?: Kernels) {
  return defineOp(name, (x: Tensor) => {
    const y = kernels ? kernels.f(x.array) : k.map(x.array, f);
    return { out: wrap(y), backward: (g) => [wrap(kernels ? kernels.df(g.array, x.array, y) : k.zip3(g.array, x.array, y, df))] };
  }, rule);
}

export const neg = unary('neg', (x) => -x, (g) => -g, "neg'(x) = -1");
export const exp = unary('exp', Math.exp, (g, _x, y) => g * y, "exp'(x) = y");
// NOTE: log of a non-positive number is NaN or -Infinity; a Tape with checkFinite names the op.
export const log = unary('log', Math.log, (g, x) => g / x, "log'(x) = 1/x");
export const sqrt = unary('sqrt', Math.sqrt, (g, _x, y) => g / (2 * y), "sqrt'(x) = 1/(2y)");
/** |x|; abs'(0) = 0 by convention (the kink). */
export const abs = unary('abs', Math.abs, (g, x) => (x > 0 ? g : x < 0 ? -g : 0), "abs'(x) = sign(x)");
export const square = unary('square', (x) => x * x, (g, x) => 2 * g * x, "square'(x) = 2x");
/** relu'(x) = 1 where x > 0, and 0 where x <= 0 (0 at the kink, by convention). */
export const relu = unary('relu', (x) => (x > 0 ? x : 0), (g, x) => (x > 0 ? g : 0), "relu'(x) = 1 if x > 0 else 0");
export const tanh = unary('tanh', Math.tanh, (g, _x, y) => g * (1 - y * y), "tanh'(x) = 1 - y²", { f: k.tanh, df: (g, _x, y) => k.tanhGrad(g, y) });
// NOTE: written as 1/(1+e^-x) or e^x/(1+e^x) by sign, so neither overflows.
export const sigmoid = unary(
  'sigmoid',
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  (g, _x, y) => g * y * (1 - y),
  "sigmoid'(x) = y(1 - y)",
);

/** c x for a constant c (not differentiated). */
export const scale = defineOp('scale', (x: Tensor, c: number) => {
  return { out: wrap(k.map(x.array, (v) => c * v)), backward: (g) => [wrap(k.map(g.array, (v) => c * v)), null] };
}, "scale'(x) = c");

/** x^p for a constant exponent p. */
export const pow = defineOp('pow', (x: Tensor, p: number) => {
  const y = k.map(x.array, (v) => v ** p);
  return { out: wrap(y), backward: (g) => [wrap(k.zip(g.array, x.array, g.shape, (gv, v) => gv * p * v ** (p - 1))), null] };
}, "pow'(x) = p·x^(p-1)");

/** elu(x) = x for x > 0, alpha (e^x - 1) otherwise; elu'(x) = 1 for x > 0, y + alpha otherwise. */
export const elu = defineOp('elu', (x: Tensor, alpha: number = 1) => {
  const y = k.map(x.array, (v) => (v > 0 ? v : alpha * Math.expm1(v)));
  return {
    out: wrap(y),
    backward: (g) => [wrap(k.zip3(g.array, x.array, y, (gv, v, yv) => (v > 0 ? gv : gv * (yv + alpha)))), null],
  };
}, "elu'(x) = 1 if x > 0 else y + α");
