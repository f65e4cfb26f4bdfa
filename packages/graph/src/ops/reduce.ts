/** Reductions and row-wise ops: sum, mean, max, log-sum-exp, softmax, log-softmax, picking one entry per row. */
import * as k from '../kernels/index.ts';
import { formatShape, tensor, type Tensor } from '../tensor.ts';
import { axisOf, defineOp, expectRank, expectSameDtype, labelsFor, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** g, of a reduction's output shape, spread back over the input's shape (on the tape). */
function spread(t: Tape, g: Tensor, x: Tensor, axis: number | undefined): Tensor {
  const kept =
    axis === undefined
      ? g
      : t.reshape(
          g,
          x.shape.map((d, i) => (i === axis ? 1 : d)),
        );
  return t.broadcastTo(kept, x.shape);
}

/** The sum of all elements (a 0-D tensor), or along one axis (which is removed). */
export const sum = defineOp(
  'sum',
  (x: Tensor, axis?: number) => {
    const a = axis === undefined ? undefined : axisOf('sum', x, axis);
    const out = a === undefined ? tensor(k.sumAll(x.array), { dtype: x.dtype }) : wrap(k.sumAxis(x.array, a));
    return { out, saves: [], backward: (g, _needs, t): Gradients => [spread(t, g, x, a), null] };
  },
  'dx = g, repeated along the summed axes',
);

/** The mean of all elements, or along one axis. */
export const mean = defineOp(
  'mean',
  (x: Tensor, axis?: number) => {
    const a = axis === undefined ? undefined : axisOf('mean', x, axis);
    const n = a === undefined ? x.size : x.shape[a];
    const out = a === undefined ? tensor(k.sumAll(x.array) / n, { dtype: x.dtype }) : wrap(k.map(k.sumAxis(x.array, a), (v) => v / n));
    return { out, saves: [], backward: (g, _needs, t): Gradients => [spread(t, t.scale(g, 1 / n), x, a), null] };
  },
  'dx = g / n, repeated along the averaged axes',
);

/** The max along an axis. The gradient goes to the first maximum of each row (a tie is a kink). */
export const max = defineOp(
  'max',
  (x: Tensor, axis: number) => {
    const a = axisOf('max', x, axis);
    const { values, argmax } = k.maxAxis(x.array, a);
    return {
      out: wrap(values),
      // saves argmax: dx = g spread back, times a constant one-hot of the maxima (piecewise linear)
      backward: (g, _needs, t): Gradients => {
        // The one-hot in the layout where `a` is the last axis, then moved back.
        const perm = [...Array(x.rank).keys()].filter((d) => d !== a).concat(a);
        const ones = k.map(k.empty(x.dtype, [argmax.length]), () => 1);
        const hot = k.scatterRows(
          ones,
          argmax,
          x.shape[a],
          perm.map((d) => x.shape[d]),
        );
        const inverse = perm.map((_, i) => perm.indexOf(i));
        return [t.mul(spread(t, g, x, a), wrap(k.reshape(hot.transpose(...inverse), x.shape))), null];
      },
    };
  },
  'dx = g at the argmax, 0 elsewhere',
);

/** log Σ exp(x) along an axis (removed), shifted by the max so that large values do not overflow. */
export const logSumExp = defineOp(
  'logSumExp',
  (x: Tensor, axis: number = -1) => {
    const a = axisOf('logSumExp', x, axis);
    const y = wrap(k.logSumExpAxis(x.array, a));
    // dx = g softmax(x) along the axis, as exp(x - y): never above 1, and differentiable again
    return { out: y, saves: [x, y], backward: (g, _needs, t): Gradients => [t.mul(spread(t, g, x, a), t.exp(t.sub(x, spread(t, y, x, a)))), null] };
  },
  'dx = g · exp(x - y) (the softmax along the axis)',
);

function lastAxis(op: string, x: Tensor, axis: number): number {
  if (axisOf(op, x, axis) !== x.rank - 1) throw new Error(`${op}: only the last axis (-1) is supported, got ${axis}`);
  return x.shape[x.rank - 1];
}

/** Softmax along the last axis, shifted by the row max so that large scores do not overflow. */
export const softmax = defineOp(
  'softmax',
  (x: Tensor, axis: number = -1) => {
    const len = lastAxis('softmax', x, axis);
    const y = wrap(k.softmaxRows(x.array, len, false));
    return { out: y, saves: [y], backward: (g, _needs, t): Gradients => [t.softmaxBackward(g, y), null] };
  },
  'dx = y ⊙ (g - Σ g·y)',
);

/** log(softmax(x)) along the last axis, computed as x - max - log(sum(exp(x - max))). */
export const logSoftmax = defineOp(
  'logSoftmax',
  (x: Tensor, axis: number = -1) => {
    const len = lastAxis('logSoftmax', x, axis);
    const y = wrap(k.softmaxRows(x.array, len, true));
    return { out: y, saves: [y], backward: (g, _needs, t): Gradients => [t.logSoftmaxBackward(g, y), null] };
  },
  'dx = g - softmax(x) Σ g',
);

/** Row sums of x [..., len] kept as [..., 1], to broadcast against x. */
const rowSums = (t: Tape, x: Tensor) => t.reshape(t.sum(x, -1), [...x.shape.slice(0, -1), 1]);

function sameShapes(op: string, g: Tensor, y: Tensor): number {
  expectSameDtype(op, g, y);
  if (!k.sameShape(g.shape, y.shape)) throw new Error(`${op}: g ${formatShape(g.shape)} and y ${formatShape(y.shape)} differ in shape`);
  return y.shape[y.rank - 1];
}

/** y (g - Σ g y) along the last axis: softmax's backward from its output y, in one pass. */
export const softmaxBackward = defineOp(
  'softmaxBackward',
  (g: Tensor, y: Tensor) => {
    const len = sameShapes('softmaxBackward', g, y);
    return {
      out: wrap(k.softmaxGrad(g.array, k.flat(y.array), len)),
      // d/dg = softmaxBackward(h, y); d/dy = h (g - Σ g y) - g Σ h y
      backward: (h, needs, t): Gradients => [
        needs[0] ? t.softmaxBackward(h, y) : null,
        needs[1] ? t.sub(t.mul(h, t.sub(g, rowSums(t, t.mul(g, y)))), t.mul(g, rowSums(t, t.mul(h, y)))) : null,
      ],
    };
  },
  'dg = y ⊙ (h - Σ h·y), dy = h ⊙ (g - Σ g·y) - g Σ h·y',
);

/** g - exp(y) Σ g along the last axis: log-softmax's backward from its output y, in one pass. */
export const logSoftmaxBackward = defineOp(
  'logSoftmaxBackward',
  (g: Tensor, y: Tensor) => {
    const len = sameShapes('logSoftmaxBackward', g, y);
    return {
      out: wrap(k.logSoftmaxGrad(g.array, k.flat(y.array), len)),
      // d/dg = h - Σ h exp(y); d/dy = -h exp(y) Σ g
      backward: (h, needs, t): Gradients => {
        const hp = t.mul(h, t.exp(y));
        return [needs[0] ? t.sub(h, rowSums(t, hp)) : null, needs[1] ? t.neg(t.mul(hp, rowSums(t, g))) : null];
      },
    };
  },
  'dg = h - Σ h·exp(y), dy = -h·exp(y) Σ g',
);

/** out[i] = x[i, labels[i]]: one entry per row, chosen by an integer label. */
export const pick = defineOp(
  'pick',
  (x: Tensor, labels: ArrayLike<number>) => {
    expectRank('pick', 'the input', x, 2);
    labelsFor('pick', x, labels);
    return { out: wrap(k.gatherRows(x.array, labels)), backward: (g, _needs, t): Gradients => [t.scatterPick(g, labels, x.shape[1]), null] };
  },
  'dx = g at [i, label_i], 0 elsewhere',
);

/** An [n, classes] tensor of zeros but for g[i] at [i, labels[i]]: pick's backward (and pick is its). */
export const scatterPick = defineOp(
  'scatterPick',
  (g: Tensor, labels: ArrayLike<number>, classes: number) => {
    expectRank('scatterPick', 'the input', g, 1);
    if (labels.length !== g.size) throw new Error(`scatterPick: ${labels.length} labels for ${g.size} values`);
    return { out: wrap(k.scatterRows(g.array, labels, classes)), backward: (h, _needs, t): Gradients => [t.pick(h, labels), null, null] };
  },
  'dg = h picked at [i, label_i]',
);
