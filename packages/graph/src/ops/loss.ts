/**
 * The losses of the paper (§2.2), each a single op averaged over the batch (the rows of the score
 * matrix S), and the mean squared error over every element; each backward is the closed form of
 * its gradient written with ops of the tape.
 */
import * as k from '../kernels/index.ts';
import { formatShape, tensor, type Tensor } from '../tensor.ts';
import { defineOp, expectSameDtype, labelsFor, wrap, type Gradients } from '../op.ts';

/**
 * Multiclass hinge loss: mean over rows i of sum over j != y_i of max(0, s_ij - s_iy + 1).
 * dl/ds_ij = 1/n where the margin s_ij - s_iy + 1 > 0 (j != y_i); dl/ds_iy = -(count of those)/n.
 * A margin of exactly 0 counts as inactive (the kink, by convention); NaN scores give a NaN loss.
 */
export const hingeLoss = defineOp(
  'hingeLoss',
  (S: Tensor, labels: ArrayLike<number>) => {
    labelsFor('hingeLoss', S, labels);
    const { loss, dS } = k.hingeRows(S.array, labels);
    // saves dS for g = 1, a constant: the loss is piecewise linear in S
    const M = wrap(dS);
    return {
      out: tensor(loss, { dtype: S.dtype }),
      backward(g, _needs, t): Gradients {
        return [t.mul(M, g), null];
      },
    };
  },
  'dS = (margin > 0) / n, and -(active count) / n at the label',
);

/** Softmax cross-entropy from scores: mean over rows of -log p_iy, p = softmax(s_i). dl/dS = (P - Y) / n. */
export const crossEntropy = defineOp(
  'crossEntropy',
  (S: Tensor, labels: ArrayLike<number>) => {
    labelsFor('crossEntropy', S, labels);
    const [n, c] = S.shape;
    const loss = k.meanNegativePicked(k.softmaxRows(S.array, c, true), labels);
    return {
      out: tensor(loss, { dtype: S.dtype }),
      // P recomputed on the tape, so that the gradient is differentiable again
      backward: (g, _needs, t): Gradients => [t.mul(t.sub(t.softmax(S), wrap(k.oneHotRows(n, c, labels, S.dtype))), t.scale(g, 1 / n)), null],
    };
  },
  'dS = (softmax(S) - onehot(y)) / n',
);

/**
 * Squared error: sum of (p - t)^2 over all elements, divided by the batch size (the first
 * axis; 1 for a 0-D tensor). For one output it is the paper's l = (o - y)^2.
 */
export const squaredError = defineOp(
  'squaredError',
  (p: Tensor, q: Tensor) => {
    expectSameDtype('squaredError', p, q);
    if (!k.sameShape(p.shape, q.shape)) {
      throw new Error(`squaredError: prediction ${formatShape(p.shape)} and target ${formatShape(q.shape)} differ in shape`);
    }
    const n = p.rank === 0 ? 1 : p.shape[0];
    const diff = k.zip(p.array, q.array, p.shape, (a, b) => a - b);
    return {
      out: tensor(k.sumAll(k.zip(diff, diff, p.shape, (a, b) => a * b)) / n, { dtype: p.dtype }),
      // dp = 2 g (p - t) / n, dt = -dp
      backward: (g, needs, t): Gradients => {
        const dp = t.mul(t.sub(p, q), t.scale(g, 2 / n));
        return [needs[0] ? dp : null, needs[1] ? t.neg(dp) : null];
      },
    };
  },
  'dp = 2(p - t) / n, dt = -dp',
);

/** The mean squared error over all elements of any shape: mean((p - t)²). */
export const mseLoss = defineOp(
  'mseLoss',
  (p: Tensor, q: Tensor) => {
    expectSameDtype('mseLoss', p, q);
    if (!k.sameShape(p.shape, q.shape)) {
      throw new Error(`mseLoss: prediction ${formatShape(p.shape)} and target ${formatShape(q.shape)} differ in shape`);
    }
    if (p.size === 0) throw new Error(`mseLoss: the prediction ${formatShape(p.shape)} has no elements to average`);
    const diff = k.zip(p.array, q.array, p.shape, (a, b) => a - b);
    return {
      out: tensor(k.sumAll(k.zip(diff, diff, p.shape, (a, b) => a * b)) / p.size, { dtype: p.dtype }),
      // dp = 2 g (p - t) / size, dt = -dp
      backward: (g, needs, t): Gradients => {
        const dp = t.mul(t.sub(p, q), t.scale(g, 2 / p.size));
        return [needs[0] ? dp : null, needs[1] ? t.neg(dp) : null];
      },
    };
  },
  'dp = 2(p - t) / size, dt = -dp',
);
