/**
 * 2-D pooling over NCHW inputs (PyTorch's max_pool2d and avg_pool2d, floor mode). Both are linear
 * given where the maxima are, so each backward is an op whose own backward is the forward again.
 */
import * as k from '../kernels/index.ts';
import { formatShape, type Shape, type Tensor } from '../tensor.ts';
import { defineOp, wrap, type Gradients } from '../op.ts';
import { expect4D, pairOf, type Pair } from './conv.ts';

export interface Pool2dOptions {
  /** Step between windows (default: the kernel size, windows that do not overlap). */
  stride?: Pair;
  /** Added on each side, at most half the kernel (default 0): never a maximum; averaged only with countIncludePad. */
  padding?: Pair;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Divide by the whole window, padding included (true, PyTorch's default), or by the input values in it (false). */
  countIncludePad?: boolean;
}

/** The geometry of pooling x [N, C, H, W] with a `kernel` window, or an error naming what disagrees. */
function poolGeometry(op: string, x: Shape, kernel: Pair, options: Pool2dOptions): k.PoolGeometry {
  expect4D(op, 'the input', '[N, C, H, W]', x);
  const [kh, kw] = pairOf(op, 'kernel', kernel, 1);
  const [sh, sw] = pairOf(op, 'stride', options.stride ?? kernel, 1);
  const [ph, pw] = pairOf(op, 'padding', options.padding ?? 0, 0);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new Error(`${op}: padding ${ph},${pw} must be at most half the kernel ${kh}x${kw} (a window could hold only padding)`);
  }
  const [n, c, h, w] = x;
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    throw new Error(
      `${op}: the kernel ${kh}x${kw} is larger than the padded input ${h + 2 * ph}x${w + 2 * pw} (input ${formatShape(x)} padded by ${ph},${pw})`,
    );
  }
  const oh = k.convOutputSize(h, kh, sh, ph, 1),
    ow = k.convOutputSize(w, kw, sw, pw, 1);
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

/** Checks the indices of maxima against the gradient they go with and the input they point into. */
function expectIndices(op: string, argmax: Int32Array, values: Shape, into: Shape): void {
  const size = k.sizeOf(into);
  if (argmax.length !== k.sizeOf(values)) throw new Error(`${op}: ${argmax.length} indices for ${k.sizeOf(values)} values ${formatShape(values)}`);
  for (let i = 0; i < argmax.length; i++) {
    if (!(argmax[i] >= 0 && argmax[i] < size)) throw new Error(`${op}: index ${argmax[i]} at ${i} is outside the input ${formatShape(into)}`);
  }
}

/**
 * The max of each kernel window of each plane: [N, C, OH, OW], OH = floor((H + 2 padding - KH) / stride) + 1.
 * The gradient goes to the first maximum of each window in row-major order (a tie is a kink);
 * overlapping windows that share a maximum add their gradients there.
 */
export const maxPool2d = defineOp(
  'maxPool2d',
  (x: Tensor, kernel: Pair, options: Pool2dOptions = {}) => {
    const { values, argmax } = k.maxPool2d(x.array, poolGeometry('maxPool2d', x.shape, kernel, options));
    // saves the indices of the maxima: piecewise linear, dx = g scattered there
    return { out: wrap(values), backward: (g, _needs, t): Gradients => [t.maxPool2dBackward(g, argmax, x.shape), null, null] };
  },
  'dx = g at the first maximum of each window, 0 elsewhere',
);

/** maxPool2d's backward: g added at the flat indices `argmax` of a zero tensor of x's shape `xShape`. */
export const maxPool2dBackward = defineOp(
  'maxPool2dBackward',
  (g: Tensor, argmax: Int32Array, xShape: Shape) => {
    if (argmax.length !== k.sizeOf(g.shape)) expectIndices('maxPool2dBackward', argmax, g.shape, xShape);
    // the kernel counts the indices outside the input as it adds (one pass); any: the error names the first
    const { array, outside } = k.scatterAddInside(g.array, argmax, xShape);
    if (outside > 0) expectIndices('maxPool2dBackward', argmax, g.shape, xShape);
    return { out: wrap(array), backward: (h, _needs, t): Gradients => [t.maxPool2dPick(h, argmax, g.shape), null, null] };
  },
  'dg = h at the maxima',
);

/** h's values at the flat indices `argmax` (the maxima of a maxPool2d), in an array of `shape`: maxPool2dBackward's backward. */
export const maxPool2dPick = defineOp(
  'maxPool2dPick',
  (h: Tensor, argmax: Int32Array, shape: Shape) => {
    expectIndices('maxPool2dPick', argmax, shape, h.shape);
    return { out: wrap(k.gatherAt(h.array, argmax, shape)), backward: (g, _needs, t): Gradients => [t.maxPool2dBackward(g, argmax, h.shape), null, null] };
  },
  'dh = g added at the maxima',
);

/** The mean of each kernel window of each plane (count_include_pad: see AvgPool2dOptions; true by default). */
export const avgPool2d = defineOp(
  'avgPool2d',
  (x: Tensor, kernel: Pair, options: AvgPool2dOptions = {}) => {
    const g = poolGeometry('avgPool2d', x.shape, kernel, options);
    return {
      out: wrap(k.avgPool2d(x.array, g, options.countIncludePad ?? true)),
      backward: (gy, _needs, t): Gradients => [t.avgPool2dBackward(gy, x.shape, kernel, options), null, null],
    };
  },
  'dx = g / window size, spread over each window',
);

/** avgPool2d's backward: each g spread evenly over its window of an input of shape `xShape`. Linear; its backward is avgPool2d. */
export const avgPool2dBackward = defineOp(
  'avgPool2dBackward',
  (gy: Tensor, xShape: Shape, kernel: Pair, options: AvgPool2dOptions = {}) => {
    const g = poolGeometry('avgPool2dBackward', xShape, kernel, options);
    if (!k.sameShape(gy.shape, [g.n, g.c, g.oh, g.ow])) {
      throw new Error(
        `avgPool2dBackward: the gradient ${formatShape(gy.shape)} is not the shape ${formatShape([g.n, g.c, g.oh, g.ow])} of the output for input ${formatShape(xShape)}`,
      );
    }
    return {
      out: wrap(k.avgPool2dBackward(gy.array, g, options.countIncludePad ?? true)),
      backward: (h, _needs, t): Gradients => [t.avgPool2d(h, kernel, options), null, null, null],
    };
  },
  'dg = avgPool2d(h)',
);
