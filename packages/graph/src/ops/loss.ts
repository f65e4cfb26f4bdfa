/**
 * The losses of the paper (§2.2), each a single op whose backward is the closed form of its
 * gradient, averaged over the batch (the rows of the score matrix S).
 */
import ndarray from 'ndarray';
import * as k from '../kernels/index.ts';
import { allocate, formatShape, tensor, type Tensor } from '../tensor.ts';
import { defineOp, expectSameDtype, labelsFor, wrap } from '../op.ts';

/** A 0-D loss and a gradient of S scaled by the upstream g. */
function scaled(dS: Float32Array | Float64Array, shape: number[], g: Tensor) {
  const gv = g.item();
  for (let i = 0; i < dS.length; i++) dS[i] *= gv;
  return wrap(ndarray(dS, shape));
}

/**
 * Multiclass hinge loss: mean over rows i of sum over j != y_i of max(0, s_ij - s_iy + 1).
 * dl/ds_ij = 1/n where the margin s_ij - s_iy + 1 > 0 (j != y_i); dl/ds_iy = -(count of those)/n.
 * A margin of exactly 0 counts as inactive (the kink, by convention); a NaN score makes the loss NaN.
 */
export const hingeLoss = defineOp('hingeLoss', (S: Tensor, labels: ArrayLike<number>) => {
  labelsFor('hingeLoss', S, labels);
  const [n, c] = S.shape;
  const s = k.flat(S.array);
  const dS = allocate(S.dtype, n * c); // saved: the gradient for g = 1
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c, y = labels[i];
    const sy = s[row + y];
    let active = 0;
    for (let j = 0; j < c; j++) {
      if (j === y) continue;
      const margin = s[row + j] - sy + 1;
      if (margin > 0) {
        loss += margin;
        dS[row + j] = 1 / n;
        active++;
      } else if (Number.isNaN(margin)) {
        loss = NaN; // NOTE: `margin > 0` is false for NaN: without this a NaN score would cost nothing.
      }
    }
    dS[row + y] = -active / n;
  }
  const copy = () => { const d = allocate(S.dtype, n * c); d.set(dS); return d; };
  return { out: tensor(loss / n, { dtype: S.dtype }), backward: (g) => [scaled(copy(), [n, c], g), null] };
}, 'dS = (margin > 0) / n, and -(active count) / n at the label');

/** Softmax cross-entropy from scores: mean over rows of -log p_iy, p = softmax(s_i). dl/dS = (P - Y) / n. */
export const crossEntropy = defineOp('crossEntropy', (S: Tensor, labels: ArrayLike<number>) => {
  labelsFor('crossEntropy', S, labels);
  const [n, c] = S.shape;
  const logP = k.softmaxRows(k.flat(S.array), n, c, true);
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= logP[i * c + labels[i]];
  return {
    out: tensor(loss / n, { dtype: S.dtype }),
    // saves log P
    backward: (g) => {
      const dS = allocate(S.dtype, n * c);
      for (let i = 0; i < n * c; i++) dS[i] = Math.exp(logP[i]) / n;
      for (let i = 0; i < n; i++) dS[i * c + labels[i]] -= 1 / n;
      return [scaled(dS, [n, c], g), null];
    },
  };
}, 'dS = (softmax(S) - onehot(y)) / n');

/**
 * Squared error: sum of (p - t)^2 over all elements, divided by the batch size (the first
 * axis; 1 for a 0-D tensor). For one output it is the paper's l = (o - y)^2.
 */
export const squaredError = defineOp('squaredError', (p: Tensor, t: Tensor) => {
  expectSameDtype('squaredError', p, t);
  if (p.shape.join() !== t.shape.join()) {
    throw new Error(`squaredError: prediction ${formatShape(p.shape)} and target ${formatShape(t.shape)} differ in shape`);
  }
  const n = p.rank === 0 ? 1 : p.shape[0];
  const diff = k.zip(p.array, t.array, p.shape, (a, b) => a - b);
  const d = diff.data;
  let loss = 0;
  for (let i = 0; i < d.length; i++) loss += d[i] * d[i];
  return {
    out: tensor(loss / n, { dtype: p.dtype }),
    // saves p - t
    backward: (g) => {
      const gv = g.item();
      const dp = k.map(diff, (v) => (2 * gv * v) / n);
      return [wrap(dp), wrap(k.map(dp, (v) => -v))];
    },
  };
}, 'dp = 2(p - t) / n, dt = -dp');
