/** Reductions and row-wise ops: sum, mean, max, softmax, log-softmax, picking one entry per row. */
import ndarray from 'ndarray';
import * as k from '../kernels/index.ts';
import { tensor, type Tensor } from '../tensor.ts';
import { axisOf, defineOp, expectRank, labelsFor, wrap } from '../op.ts';

/** g, of a reduction's output shape, spread back over the input's shape. */
function spread(g: Tensor, x: Tensor, axis: number | undefined, scale: number): Tensor {
  const view = axis === undefined ? g.array : k.expandAxis(g.array, axis);
  return wrap(k.map(k.broadcastView(view, x.shape), (v) => v * scale));
}

/** The sum of all elements (a 0-D tensor), or along one axis (which is removed). */
export const sum = defineOp('sum', (x: Tensor, axis?: number) => {
  const a = axis === undefined ? undefined : axisOf('sum', x, axis);
  const out = a === undefined ? tensor(k.sumAll(x.array), { dtype: x.dtype }) : wrap(k.sumAxis(x.array, a));
  return { out, backward: (g) => [spread(g, x, a, 1), null] };
}, 'dx = g, repeated along the summed axes');

/** The mean of all elements, or along one axis. */
export const mean = defineOp('mean', (x: Tensor, axis?: number) => {
  const a = axis === undefined ? undefined : axisOf('mean', x, axis);
  const n = a === undefined ? x.size : x.shape[a];
  const out = a === undefined ? tensor(k.sumAll(x.array) / n, { dtype: x.dtype }) : wrap(k.map(k.sumAxis(x.array, a), (v) => v / n));
  return { out, backward: (g) => [spread(g, x, a, 1 / n), null] };
}, 'dx = g / n, repeated along the averaged axes');

/** The max along an axis. The gradient goes to the first maximum of each row (a tie is a kink). */
export const max = defineOp('max', (x: Tensor, axis: number) => {
  const a = axisOf('max', x, axis);
  const { values, argmax } = k.maxAxis(x.array, a);
  return {
    out: wrap(values),
    // saves argmax
    backward: (g) => {
      // Work in the layout where `a` is the last axis, then move it back.
      const perm = [...Array(x.rank).keys()].filter((d) => d !== a).concat(a);
      const dx = k.scatterRows(g.array, argmax, x.shape[a], perm.map((d) => x.shape[d]));
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [wrap(k.reshape(dx.transpose(...inverse), x.shape)), null];
    },
  };
}, 'dx = g at the argmax, 0 elsewhere');

function lastAxis(op: string, x: Tensor, axis: number): number {
  if (axisOf(op, x, axis) !== x.rank - 1) throw new Error(`${op}: only the last axis (-1) is supported, got ${axis}`);
  return x.shape[x.rank - 1];
}

/** Softmax along the last axis, shifted by the row max so that large scores do not overflow. */
export const softmax = defineOp('softmax', (x: Tensor, axis: number = -1) => {
  const len = lastAxis('softmax', x, axis);
  const rows = x.size / len;
  const y = k.softmaxRows(k.flat(x.array), rows, len, false);
  return {
    out: wrap(ndarray(y, x.shape.slice())),
    // saves y: dx = y (g - sum(g y))
    backward: (g) => [wrap(k.softmaxGrad(g.array, y, len)), null],
  };
}, 'dx = y ⊙ (g - Σ g·y)');

/** log(softmax(x)) along the last axis, computed as x - max - log(sum(exp(x - max))). */
export const logSoftmax = defineOp('logSoftmax', (x: Tensor, axis: number = -1) => {
  const len = lastAxis('logSoftmax', x, axis);
  const rows = x.size / len;
  const y = k.softmaxRows(k.flat(x.array), rows, len, true);
  return {
    out: wrap(ndarray(y, x.shape.slice())),
    // saves y: dx = g - exp(y) sum(g)
    backward: (g) => [wrap(k.logSoftmaxGrad(g.array, y, len)), null],
  };
}, 'dx = g - softmax(x) Σ g');

/** out[i] = x[i, labels[i]]: one entry per row, chosen by an integer label. */
export const pick = defineOp('pick', (x: Tensor, labels: ArrayLike<number>) => {
  expectRank('pick', 'the input', x, 2);
  labelsFor('pick', x, labels);
  return {
    out: wrap(k.gatherRows(x.array, labels)),
    backward: (g) => [wrap(k.scatterRows(g.array, labels, x.shape[1])), null],
  };
}, 'dx = g at [i, label_i], 0 elsewhere');
