/**
 * 2-D convolution (NCHW, PyTorch's conventions) as three bilinear ops that are each other's
 * gradients: conv2d(x, w), its input gradient conv2dBackwardInput(g, w) (the transposed
 * convolution) and its weight gradient conv2dBackwardWeight(x, g) (the correlation of x with g).
 * From ⟨g, conv2d(x, w)⟩ = ⟨conv2dBackwardInput(g, w), x⟩ = ⟨conv2dBackwardWeight(x, g), w⟩ every
 * rule below is one of the three again, so backward passes are differentiable to any order.
 */
import * as k from '../kernels/index.ts';
import { formatShape, type Shape, type Tensor } from '../tensor.ts';
import { defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** A size for both spatial axes, or [height, width]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: Pair;
  /** Zeros added on each side (default 0). */
  padding?: Pair;
  /** Step between the taps of the kernel (default 1). */
  dilation?: Pair;
  /** Channels and filters split into this many independent groups (default 1; C for a depthwise convolution). */
  groups?: number;
}

/** `v` as [height, width], each an integer >= min, or an error naming the op and the option. */
export function pairOf(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v !== 'number' && v.length !== 2) || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Checks that a shape is [N, C, H, W] (or the weights' [F, C/G, KH, KW]) of positive sizes (N may be 0). */
export function expect4D(op: string, what: string, layout: string, shape: Shape): void {
  if (shape.length !== 4 || shape.some((d, i) => !Number.isInteger(d) || d < (i === 0 && what === 'the input' ? 0 : 1))) {
    throw new Error(`${op}: ${what} must be 4-D ${layout} with positive sizes, got shape ${formatShape(shape)}`);
  }
}

/** The geometry of x [N, C, H, W] ⋆ w [F, C/G, KH, KW] with `options`, or an error naming what disagrees. */
export function convGeometry(op: string, x: Shape, w: Shape, options: Conv2dOptions): k.ConvGeometry {
  expect4D(op, 'the input', '[N, C, H, W]', x);
  expect4D(op, 'the weights', '[F, C/groups, KH, KW]', w);
  const [sh, sw] = pairOf(op, 'stride', options.stride ?? 1, 1);
  const [ph, pw] = pairOf(op, 'padding', options.padding ?? 0, 0);
  const [dh, dw] = pairOf(op, 'dilation', options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  const [n, c, h, width] = x,
    [f, cg, kh, kw] = w;
  if (c % groups !== 0) throw new Error(`${op}: the input ${formatShape(x)} has ${c} channels, not divisible by groups ${groups}`);
  if (f % groups !== 0) throw new Error(`${op}: the weights ${formatShape(w)} have ${f} filters, not divisible by groups ${groups}`);
  if (cg * groups !== c) {
    throw new Error(
      `${op}: the weights ${formatShape(w)} take ${cg} channels per group x ${groups} group(s) = ${cg * groups}, but the input ${formatShape(x)} has ${c}`,
    );
  }
  const eh = dh * (kh - 1) + 1,
    ew = dw * (kw - 1) + 1;
  if (eh > h + 2 * ph || ew > width + 2 * pw) {
    const span = dh > 1 || dw > 1 ? ` (spanning ${eh}x${ew} with dilation ${dh},${dw})` : '';
    throw new Error(
      `${op}: the kernel ${kh}x${kw}${span} is larger than the padded input ${h + 2 * ph}x${width + 2 * pw} (input ${formatShape(x)} padded by ${ph},${pw})`,
    );
  }
  return { n, c, h, w: width, f, kh, kw, groups, sh, sw, ph, pw, dh, dw, oh: k.convOutputSize(h, kh, sh, ph, dh), ow: k.convOutputSize(width, kw, sw, pw, dw) };
}

const outputShape = (g: k.ConvGeometry) => [g.n, g.f, g.oh, g.ow];

/** Checks that a gradient has the convolution's output shape. */
function expectOutputShape(op: string, gy: Tensor, g: k.ConvGeometry, x: Shape, w: Shape): void {
  if (!k.sameShape(gy.shape, outputShape(g))) {
    throw new Error(
      `${op}: the gradient ${formatShape(gy.shape)} is not the shape ${formatShape(outputShape(g))} of the output of input ${formatShape(x)} with weights ${formatShape(w)}`,
    );
  }
}

/** Σ over n, y, x of g[n, f, y, x]: the samples summed first, as the rows of an [N, F·OH·OW] matrix (one SIMD pass for float32). */
const biasGradient = (t: Tape, gy: Tensor, g: k.ConvGeometry): Tensor =>
  t.sum(t.reshape(t.sum(t.reshape(gy, [g.n, g.f * g.oh * g.ow]), 0), [g.f, g.oh * g.ow]), 1);

/**
 * y[n, f] = Σ_c x[n, c] ⋆ w[f, c] (+ bias[f]): the cross-correlation of PyTorch's conv2d, with
 * zero padding, over x [N, C, H, W] and w [F, C/groups, KH, KW]; y is [N, F, OH, OW] with
 * OH = floor((H + 2 padding - dilation (KH - 1) - 1) / stride) + 1. The bias [F], optional, is added
 * to each filter's plane in the same pass.
 */
export const conv2d = defineOp(
  'conv2d',
  (x: Tensor, w: Tensor, options: Conv2dOptions = {}, bias?: Tensor) => {
    const g = convGeometry('conv2d', x.shape, w.shape, options);
    expectSameDtype('conv2d', x, w);
    if (bias) {
      expectSameDtype('conv2d', x, bias);
      if (!k.sameShape(bias.shape, [g.f])) {
        throw new Error(`conv2d: the bias must be [F] = [${g.f}] for weights ${formatShape(w.shape)}, got ${formatShape(bias.shape)}`);
      }
    }
    return {
      out: wrap(k.conv2d(x.array, w.array, g, bias?.array)),
      // saves x and w
      backward: (gy, needs, t): Gradients => [
        needs[0] ? t.conv2dBackwardInput(gy, w, x.shape, options) : null,
        needs[1] ? t.conv2dBackwardWeight(x, gy, w.shape, options) : null,
        null,
        needs[3] ? biasGradient(t, gy, g) : null,
      ],
    };
  },
  'dx = conv2dBackwardInput(g, w), dw = conv2dBackwardWeight(x, g), db = g summed over n, y, x',
);

/**
 * The transposed convolution: dl/dx of y = conv2d(x, w) for dl/dy = g, of x's shape `xShape`
 * (positions no window reads get 0).
 */
export const conv2dBackwardInput = defineOp(
  'conv2dBackwardInput',
  (gy: Tensor, w: Tensor, xShape: Shape, options: Conv2dOptions = {}) => {
    const g = convGeometry('conv2dBackwardInput', xShape, w.shape, options);
    expectSameDtype('conv2dBackwardInput', gy, w);
    expectOutputShape('conv2dBackwardInput', gy, g, xShape, w.shape);
    return {
      out: wrap(k.conv2dBackwardInput(gy.array, w.array, g)),
      // ⟨h, dx(g, w)⟩ = ⟨g, conv2d(h, w)⟩
      backward: (h, needs, t): Gradients => [needs[0] ? t.conv2d(h, w, options) : null, needs[1] ? t.conv2dBackwardWeight(h, gy, w.shape, options) : null],
    };
  },
  'dg = conv2d(h, w), dw = conv2dBackwardWeight(h, g)',
);

/** The weights' gradient: dl/dw of y = conv2d(x, w) for dl/dy = g, of the weights' shape `wShape`. */
export const conv2dBackwardWeight = defineOp(
  'conv2dBackwardWeight',
  (x: Tensor, gy: Tensor, wShape: Shape, options: Conv2dOptions = {}) => {
    const g = convGeometry('conv2dBackwardWeight', x.shape, wShape, options);
    expectSameDtype('conv2dBackwardWeight', x, gy);
    expectOutputShape('conv2dBackwardWeight', gy, g, x.shape, wShape);
    return {
      out: wrap(k.conv2dBackwardWeight(x.array, gy.array, g)),
      // ⟨h, dw(x, g)⟩ = ⟨g, conv2d(x, h)⟩
      backward: (h, needs, t): Gradients => [needs[0] ? t.conv2dBackwardInput(gy, h, x.shape, options) : null, needs[1] ? t.conv2d(x, h, options) : null],
    };
  },
  'dx = conv2dBackwardInput(g, h), dg = conv2d(x, h)',
);
