/**
 * Unary ops. Each backward is written with ops of the tape, so it can be differentiated again.
 * Derivatives that are cheaper from the output (exp, sqrt, tanh, sigmoid, elu) use the output y,
 * which is on the tape too. tanh, sigmoid and gelu have fused backward ops (one pass, one kernel) whose
 * own backward is again written with ops.
 */
import * as k from '../kernels/index.ts';
import { formatShape, zeros, type Tensor } from '../tensor.ts';
import { defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** A unary op: y = f(x) by `kernel` (or the scalar `f`), and dl/dx from g, x and y with ops of `t`. */
function unary(
  name: string,
  f: (x: number) => number,
  backward: (g: Tensor, x: Tensor, y: Tensor, t: Tape) => Tensor,
  rule: string,
  kernel?: (x: k.NdArray) => k.NdArray,
) {
  return defineOp(
    name,
    (x: Tensor) => {
      const y = wrap(kernel ? kernel(x.array) : k.map(x.array, f));
      return {
        out: y,
        saves: [x, y],
        backward(g, _needs, t): Gradients {
          return [backward(g, x, y, t)];
        },
      };
    },
    rule,
  );
}

/** A constant 0/1 tensor of x's shape: where a piecewise derivative is 1. */
const where = (x: Tensor, test: (v: number) => boolean) => wrap(k.map(x.array, (v) => (test(v) ? 1 : 0)));

export const neg = unary(
  'neg',
  (x) => -x,
  (g, _x, _y, t) => t.neg(g),
  "neg'(x) = -1",
);
export const exp = unary('exp', Math.exp, (g, _x, y, t) => t.mul(g, y), "exp'(x) = y");
// NOTE: log of a non-positive number is NaN or -Infinity; a Tape with checkFinite names the op.
export const log = unary('log', Math.log, (g, x, _y, t) => t.div(g, x), "log'(x) = 1/x");
export const sqrt = unary('sqrt', Math.sqrt, (g, _x, y, t) => t.div(g, t.scale(y, 2)), "sqrt'(x) = 1/(2y)");
/** |x|; abs'(0) = 0 by convention (the kink). */
export const abs = unary('abs', Math.abs, (g, x, _y, t) => t.mul(g, wrap(k.map(x.array, Math.sign))), "abs'(x) = sign(x)");
export const square = unary(
  'square',
  (x) => x * x,
  (g, x, _y, t) => t.mul(g, t.scale(x, 2)),
  "square'(x) = 2x",
);
/** relu'(x) = 1 where x > 0, and 0 where x <= 0 (0 at the kink, by convention). */
export const relu = unary(
  'relu',
  (x) => (x > 0 ? x : 0),
  (g, x, _y, t) => t.reluBackward(g, x),
  "relu'(x) = 1 if x > 0 else 0",
  k.relu,
);

/** g · (x > 0 ? 1 : 0), relu's backward from its input x, in one pass (a SIMD kernel for float32). Linear in g; x only selects. */
export const reluBackward = defineOp(
  'reluBackward',
  (g: Tensor, x: Tensor) => {
    expectSameDtype('reluBackward', g, x);
    if (!k.sameShape(g.shape, x.shape))
      throw new Error(`reluBackward: the gradient ${formatShape(g.shape)} is not the shape ${formatShape(x.shape)} of the input`);
    return {
      out: wrap(k.reluGrad(g.array, x.array)),
      // d/dg = the same mask; d/dx = 0 (the mask is piecewise constant in x)
      backward: (h, needs, t): Gradients => [needs[0] ? t.reluBackward(h, x) : null, needs[1] ? zeros(x.shape, { dtype: x.dtype }) : null],
    };
  },
  'dg = h where x > 0, dx = 0',
);
export const tanh = unary('tanh', Math.tanh, (g, _x, y, t) => t.tanhBackward(g, y), "tanh'(x) = 1 - y²", k.tanh);
// NOTE: written as 1/(1+e^-x) or e^x/(1+e^x) by sign, so neither overflows.
export const sigmoid = unary(
  'sigmoid',
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  (g, _x, y, t) => t.sigmoidBackward(g, y),
  "sigmoid'(x) = y(1 - y)",
);

/** g (1 - y²), tanh's backward from its output y, in one pass (a SIMD kernel for float32). */
export const tanhBackward = defineOp(
  'tanhBackward',
  (g: Tensor, y: Tensor) => {
    expectSameDtype('tanhBackward', g, y);
    return {
      out: wrap(k.tanhGrad(g.array, y.array)),
      // d/dg = 1 - y², d/dy = -2 g y
      backward(h, needs, t): Gradients {
        return [needs[0] ? t.tanhBackward(h, y) : null, needs[1] ? t.scale(t.mul(t.mul(h, g), y), -2) : null];
      },
    };
  },
  'dg = h(1 - y²), dy = -2hgy',
);

/** g y (1 - y), sigmoid's backward from its output y, in one pass. */
export const sigmoidBackward = defineOp(
  'sigmoidBackward',
  (g: Tensor, y: Tensor) => {
    expectSameDtype('sigmoidBackward', g, y);
    return {
      out: wrap(k.zip3(g.array, y.array, y.array, (gv, yv) => gv * yv * (1 - yv))),
      // d/dg = y(1 - y), d/dy = g(1 - 2y)
      backward: (h, needs, t): Gradients => [needs[0] ? t.sigmoidBackward(h, y) : null, needs[1] ? t.mul(t.mul(h, g), t.sub(1, t.scale(y, 2))) : null],
    };
  },
  'dg = h·y(1 - y), dy = h·g(1 - 2y)',
);

/** c x for a constant c (not differentiated). */
export const scale = defineOp(
  'scale',
  (x: Tensor, c: number) => {
    return { out: wrap(k.map(x.array, (v) => c * v)), saves: [], backward: (g, _needs, t): Gradients => [t.scale(g, c), null] };
  },
  "scale'(x) = c",
);

/** x^p for a constant exponent p. */
export const pow = defineOp(
  'pow',
  (x: Tensor, p: number) => {
    return { out: wrap(k.map(x.array, (v) => v ** p)), backward: (g, _needs, t): Gradients => [t.mul(g, t.scale(t.pow(x, p - 1), p)), null] };
  },
  "pow'(x) = p·x^(p-1)",
);

/** elu(x) = x for x > 0, alpha (e^x - 1) otherwise; elu'(x) = 1 for x > 0, y + alpha otherwise. */
export const elu = defineOp(
  'elu',
  (x: Tensor, alpha: number = 1) => {
    const y = wrap(k.map(x.array, (v) => (v > 0 ? v : alpha * Math.expm1(v))));
    return {
      out: y,
      saves: [x, y],
      // elu'(x) = y·[x <= 0] + ([x > 0] + alpha·[x <= 0]): differentiable again through y
      backward: (g, _needs, t): Gradients => [
        t.mul(
          g,
          t.add(
            t.mul(
              y,
              where(x, (v) => v <= 0),
            ),
            wrap(k.map(x.array, (v) => (v > 0 ? 1 : alpha))),
          ),
        ),
        null,
      ],
    };
  },
  "elu'(x) = 1 if x > 0 else y + α",
);

// NOTE: max(x, 0) + log1p(e^-|x|) neither overflows for large x nor loses the small values for very negative x.
export const softplus = unary(
  'softplus',
  (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  (g, x, _y, t) => t.mul(g, t.sigmoid(x)),
  "softplus'(x) = sigmoid(x)",
);

/** leakyRelu(x) = x for x > 0, slope·x otherwise; its derivative at the kink 0 is the slope (as relu'(0) = 0). */
export const leakyRelu = defineOp(
  'leakyRelu',
  (x: Tensor, slope: number = 0.01) => {
    return {
      out: wrap(k.map(x.array, (v) => (v > 0 ? v : slope * v))),
      backward: (g, _needs, t): Gradients => [t.mul(g, wrap(k.map(x.array, (v) => (v > 0 ? 1 : slope)))), null],
    };
  },
  "leakyRelu'(x) = 1 if x > 0 else slope",
);

/**
 * The exact GELU, x Φ(x) with Φ the standard normal distribution function (through erf, see
 * kernels/special.ts: within 1e-15 of the true value), not the tanh approximation.
 */
export const gelu = unary(
  'gelu',
  (x) => x * k.normalCdf(x),
  (g, x, _y, t) => t.geluBackward(g, x),
  "gelu'(x) = Φ(x) + x φ(x)",
);

/** g (Φ(x) + x φ(x)), gelu's backward, in one pass; its own backward is written with ops. */
export const geluBackward = defineOp(
  'geluBackward',
  (g: Tensor, x: Tensor) => {
    expectSameDtype('geluBackward', g, x);
    if (!k.sameShape(g.shape, x.shape)) throw new Error(`geluBackward: g ${formatShape(g.shape)} and x ${formatShape(x.shape)} differ in shape`);
    return {
      out: wrap(k.zip(g.array, x.array, g.shape, (gv, v) => gv * (k.normalCdf(v) + v * k.normalPdf(v)))),
      // d/dg = Φ(x) + x φ(x); d/dx = g φ(x) (2 - x²), with φ(x) = e^(-x²/2) / √(2π) on the tape
      backward: (h, needs, t): Gradients => {
        if (!needs[1]) return [t.geluBackward(h, x), null];
        const phi = t.scale(t.exp(t.scale(t.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return [needs[0] ? t.geluBackward(h, x) : null, t.mul(t.mul(h, g), t.mul(phi, t.sub(2, t.square(x))))];
      },
    };
  },
  'dg = h (Φ(x) + x φ(x)), dx = h g φ(x) (2 - x²)',
);
