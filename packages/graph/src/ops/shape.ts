/**
 * Shape ops: reshaping, broadcasting with its adjoint (summing back), which backward passes are
 * written with, and cutting, padding and joining along axes (each the other's backward).
 */
import * as k from '../kernels/index.ts';
import { formatShape, Tensor, type Shape } from '../tensor.ts';
import { axisOf, defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** The same values in another shape of the same size (a view when the input is contiguous). */
export const reshape = defineOp(
  'reshape',
  (x: Tensor, shape: Shape) => {
    if (k.sizeOf(shape) !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} values) to ${formatShape(shape)} (${k.sizeOf(shape)})`);
    }
    return { out: wrap(k.reshape(x.array, shape)), saves: [], backward: (g, _needs, t): Gradients => [t.reshape(g, x.shape), null] };
  },
  'dx = g reshaped back',
);

/** x repeated along new leading axes and axes of length 1 (numpy's broadcast_to): a view, no copy. */
export const broadcastTo = defineOp(
  'broadcastTo',
  (x: Tensor, shape: Shape) => {
    if (!k.broadcastShape(x.shape, shape) || !k.sameShape(k.broadcastShape(x.shape, shape)!, shape)) {
      throw new Error(`broadcastTo: cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
    }
    return {
      out: wrap(k.broadcastView(x.array, shape)),
      saves: [],
      backward(g, _needs, t): Gradients {
        return [sumTo(t, g, x.shape), null];
      },
    };
  },
  'dx = g summed over the broadcast axes',
);

/** x summed down to `shape` (over leading axes and axes where `shape` has 1): the adjoint of broadcasting. */
export const sumToShape = defineOp(
  'sumToShape',
  (x: Tensor, shape: Shape) => {
    return {
      out: wrap(k.sumToShape(x.array, shape)),
      saves: [],
      backward(g, _needs, t): Gradients {
        return [t.broadcastTo(g, x.shape), null];
      },
    };
  },
  'dx = g broadcast back',
);

/** `g` summed down to `shape` on the tape, or `g` itself when it has that shape already. */
export const sumTo = (t: Tape, g: Tensor, shape: Shape): Tensor => (k.sameShape(g.shape, shape) ? g : t.sumToShape(g, shape));

/** x with axes `axis`.. merged into one: [N, C, H, W] -> [N, C·H·W] for axis 1 (the default, as nn.Flatten). */
export const flatten = defineOp(
  'flatten',
  (x: Tensor, axis: number = 1) => {
    const a = axisOf('flatten', x, axis);
    const shape = [...x.shape.slice(0, a), k.sizeOf(x.shape.slice(a))];
    return { out: wrap(k.reshape(x.array, shape)), saves: [], backward: (g, _needs, t): Gradients => [t.reshape(g, x.shape), null] };
  },
  'dx = g reshaped back',
);

/** The tensors joined along `axis` (every other size equal): concat([a, b], 1) of [2,3] and [2,4] is [2,7]. */
export const concat = defineOp(
  'concat',
  (xs: readonly Tensor[], axis: number = 0) => {
    if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => x instanceof Tensor)) {
      throw new Error('concat: expected a non-empty array of tensors, as t.concat([a, b], axis)');
    }
    const a = axisOf('concat', xs[0], axis);
    xs.forEach((x, i) => {
      expectSameDtype('concat', xs[0], x);
      const d = x.rank !== xs[0].rank ? -1 : x.shape.findIndex((s, j) => j !== a && s !== xs[0].shape[j]);
      if (x.rank !== xs[0].rank || d >= 0) {
        const why = d < 0 ? `${x.rank} axes != ${xs[0].rank}` : `axis ${d} differs (${x.shape[d]} != ${xs[0].shape[d]})`;
        throw new Error(`concat: cannot join input ${i} ${formatShape(x.shape)} to input 0 ${formatShape(xs[0].shape)} along axis ${a}: ${why}`);
      }
    });
    return {
      out: wrap(
        k.concat(
          xs.map((x) => x.array),
          a,
          xs[0].dtype,
        ),
      ),
      saves: [],
      // each input gets its own stretch of g along the axis
      backward: (g, _needs, t): Gradients => {
        let start = 0;
        return [xs.map((x) => t.narrow(g, a, (start += x.shape[a]) - x.shape[a], x.shape[a])), null];
      },
    };
  },
  "dx_i = g narrowed to x_i's stretch of the axis",
);

/** The tensors (all of one shape) stacked along a new axis `axis`: stack([a, b], 0) of [2,3] each is [2,2,3]. */
export const stack = defineOp(
  'stack',
  (xs: readonly Tensor[], axis: number = 0) => {
    if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => x instanceof Tensor)) {
      throw new Error('stack: expected a non-empty array of tensors, as t.stack([a, b], axis)');
    }
    const rank = xs[0].rank,
      a = axis < 0 ? axis + rank + 1 : axis;
    if (!Number.isInteger(a) || a < 0 || a > rank)
      throw new Error(`stack: axis ${axis} is out of range for stacking tensors of shape ${formatShape(xs[0].shape)} (-${rank + 1} to ${rank})`);
    xs.forEach((x, i) => {
      expectSameDtype('stack', xs[0], x);
      if (!k.sameShape(x.shape, xs[0].shape))
        throw new Error(`stack: input ${i} has shape ${formatShape(x.shape)} but input 0 has ${formatShape(xs[0].shape)}`);
    });
    const one = [...xs[0].shape.slice(0, a), 1, ...xs[0].shape.slice(a)];
    return {
      out: wrap(
        k.concat(
          xs.map((x) => k.reshape(x.array, one)),
          a,
          xs[0].dtype,
        ),
      ),
      saves: [],
      backward: (g, _needs, t): Gradients => [xs.map((x, i) => t.reshape(t.narrow(g, a, i, 1), x.shape)), null],
    };
  },
  'dx_i = g at index i of the new axis',
);

/** `length` elements of x along `axis` from `start` (PyTorch's narrow): narrow(x, 1, 2, 3) is x[:, 2:5]. */
export const narrow = defineOp(
  'narrow',
  (x: Tensor, axis: number, start: number, length: number) => {
    const a = axisOf('narrow', x, axis);
    if (![start, length].every(Number.isInteger) || start < 0 || length < 0 || start + length > x.shape[a]) {
      throw new Error(`narrow: start ${start} and length ${length} do not fit axis ${a} of ${formatShape(x.shape)}, which has ${x.shape[a]} elements`);
    }
    const widths = x.shape.map((d, i): [number, number] => (i === a ? [start, d - start - length] : [0, 0]));
    return { out: wrap(k.narrow(x.array, a, start, length)), saves: [], backward: (g, _needs, t): Gradients => [t.pad(g, widths), null, null, null] };
  },
  "dx = g padded with zeros back to x's shape",
);

/** x surrounded by a constant: widths[d] = [before, after] for each axis d (numpy's pad, mode 'constant'). */
export const pad = defineOp(
  'pad',
  (x: Tensor, widths: readonly (readonly [number, number])[], value: number = 0) => {
    if (!Array.isArray(widths) || widths.length !== x.rank) {
      throw new Error(
        `pad: ${Array.isArray(widths) ? widths.length : 'no'} pairs of widths for the ${x.rank} axes of ${formatShape(x.shape)}; give one [before, after] per axis`,
      );
    }
    widths.forEach((w, d) => {
      if (!Array.isArray(w) || w.length !== 2 || !w.every((n) => Number.isInteger(n) && n >= 0)) {
        throw new Error(`pad: the widths of axis ${d} of ${formatShape(x.shape)} must be [before, after], whole numbers >= 0, got ${JSON.stringify(w)}`);
      }
    });
    return {
      out: wrap(k.pad(x.array, widths, value)),
      saves: [],
      // the value is a constant: dx is g without the border, cut axis by axis
      backward: (g, _needs, t): Gradients => [
        widths.reduce((h, [before], d) => (h.shape[d] === x.shape[d] ? h : t.narrow(h, d, before, x.shape[d])), g),
        null,
        null,
      ],
    };
  },
  'dx = g without the padding',
);
