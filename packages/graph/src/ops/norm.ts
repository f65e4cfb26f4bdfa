/**
 * Regularisation and normalisation: dropout, layer normalisation and batch normalisation.
 *
 * The normalisations compute their forward with one kernel; their backward recomputes x̂ and
 * 1/σ from x with ops of the tape (not from saved constants), so that the gradient still depends
 * on x when it is differentiated again.
 */
import * as k from '../kernels/index.ts';
import { formatShape, Tensor, type Shape } from '../tensor.ts';
import { defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import { Rng } from '../random.ts';
import { sumTo } from './shape.ts';
import type { Tape } from '../tape.ts';

/**
 * Inverted dropout: in training, each element is zeroed with probability p and the others scaled
 * by 1/(1 - p), from a mask drawn from `rng` (one draw per element, row-major: the same generator
 * state gives the same mask); outside training, the identity.
 */
export const dropout = defineOp('dropout', (x: Tensor, p: number, rng: Rng | null, training: boolean) => {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (typeof training !== 'boolean') throw new Error(`dropout: training must be true or false, got ${training}`);
  if (!training || p === 0) return { out: wrap(x.array), backward: (g): Gradients => [g, null, null, null] };
  if (!(rng instanceof Rng)) throw new Error('dropout: training needs the run\'s Rng to draw the mask, got none');
  const mask = wrap(k.dropoutMask(x.shape, x.dtype, p, () => rng.uniform()));
  return { out: wrap(k.zip(x.array, mask.array, x.shape, (a, b) => a * b)), backward: (g, _needs, t): Gradients => [t.mul(g, mask), null, null, null] };
}, 'dx = g · mask / (1 - p)');

/** The shape of x with 1 on the axes a statistic is taken over, the count per statistic, and x̂ and 1/σ on the tape. */
function normalised(t: Tape, x: Tensor, statShape: Shape, eps: number, given?: { mean: Tensor; var: Tensor }) {
  const n = x.size / k.sizeOf(statShape);
  const mean = given ? t.reshape(given.mean, statShape) : t.scale(t.sumToShape(x, statShape), 1 / n);
  const centred = t.sub(x, mean);
  const variance = given ? t.reshape(given.var, statShape) : t.scale(t.sumToShape(t.square(centred), statShape), 1 / n);
  const rstd = t.pow(t.add(variance, eps), -0.5);
  return { xhat: t.mul(centred, rstd), rstd, n };
}

/**
 * The backward of y = x̂ · gain + bias, x̂ normalised over the axes where statShape has 1 (by the
 * batch's statistics, or by constant ones when `given`): with u = g · gain,
 * dx = (u - mean(u) - x̂ mean(u x̂)) / σ for batch statistics, and u / σ for given ones.
 */
function normBackward(t: Tape, g: Tensor, x: Tensor, statShape: Shape, eps: number, gain: Tensor | null, gainShape: Shape, needs: readonly boolean[], given?: { mean: Tensor; var: Tensor }) {
  const { xhat, rstd, n } = normalised(t, x, statShape, eps, given);
  const u = gain ? t.mul(g, t.reshape(gain, gainShape)) : g;
  const mean = (v: Tensor) => t.scale(t.sumToShape(v, statShape), 1 / n);
  const dx = !needs[0] ? null : given ? t.mul(u, rstd) : t.mul(t.sub(t.sub(u, mean(u)), t.mul(xhat, mean(t.mul(u, xhat)))), rstd);
  const dgain = gain && needs[1] ? t.reshape(sumTo(t, t.mul(g, xhat), gainShape), gain.shape) : null;
  return { dx, dgain };
}

/** Checks an optional per-feature tensor (a gain, a bias, a statistic) against the size it must have. */
function perFeature(op: string, what: string, v: Tensor | null | undefined, x: Tensor, size: number, axis: string): void {
  if (v === null || v === undefined) return;
  if (!(v instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor or null`);
  expectSameDtype(op, x, v);
  if (v.rank !== 1 || v.shape[0] !== size) {
    throw new Error(`${op}: ${what} has shape ${formatShape(v.shape)} but x ${formatShape(x.shape)} needs [${size}], one per element of ${axis}`);
  }
}

/** y = x̂ gain + bias with the optional gain and bias reshaped to broadcast (kernels only, for the forward). */
function affine(xhat: k.NdArray, gain: Tensor | null, bias: Tensor | null, shape: Shape): k.NdArray {
  let y = xhat;
  if (gain) y = k.zip(y, k.reshape(gain.array, shape), y.shape, (a, b) => a * b);
  if (bias) y = k.zip(y, k.reshape(bias.array, shape), y.shape, (a, b) => a + b);
  return y;
}

/**
 * Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) · gain + bias, with the
 * biased variance of each row, and gain and bias [D] optional (null to leave one out).
 */
export const layerNorm = defineOp('layerNorm', (x: Tensor, gain: Tensor | null = null, bias: Tensor | null = null, eps: number = 1e-5) => {
  if (x.rank === 0) throw new Error('layerNorm: x must have at least one axis, got shape []');
  if (!(eps > 0)) throw new Error(`layerNorm: eps must be > 0, got ${eps}`);
  const D = x.shape[x.rank - 1], rows = x.size / Math.max(D, 1);
  perFeature('layerNorm', 'the gain', gain, x, D, 'the last axis');
  perFeature('layerNorm', 'the bias', bias, x, D, 'the last axis');
  const { out } = k.normalizeGroups(x.array, [1, rows, D], eps);
  const statShape = [...x.shape.slice(0, -1), 1];
  return {
    out: wrap(affine(out, gain, bias, [D])),
    backward: (g, needs, t): Gradients => {
      const { dx, dgain } = normBackward(t, g, x, statShape, eps, gain, [D], needs);
      return [dx, dgain, bias && needs[2] ? sumTo(t, g, bias.shape) : null, null];
    },
  };
}, 'dx = (u - mean(u) - x̂·mean(u·x̂)) / σ with u = g·gain; dgain = Σ g·x̂; dbias = Σ g');

/** Running per-channel statistics of a batch-normalised layer, state of the model (saved with it). */
export interface RunningStats {
  mean: Tensor;
  var: Tensor;
}

/** A training batch's per-channel statistics, filled in by batchNorm: constants, for `updateRunningStats`. */
export interface BatchStats {
  mean?: Tensor;
  /** The biased variance (divided by count), which the batch was normalised with. */
  var?: Tensor;
  /** Values per channel (N·H·W). */
  count?: number;
}

/**
 * In training, normalise with the batch's statistics (and report them through `stats`, for the
 * caller to update running ones); in evaluation, with the given running ones.
 */
export type BatchNormMode = { training: true; stats?: BatchStats; eps?: number } | { training: false; running: RunningStats; eps?: number };

/**
 * Batch normalisation over the channels, axis 1 of [N, C], [N, C, L] or [N, C, H, W]: each
 * channel normalised by its mean and biased variance over the batch (and positions),
 * (x - mean) / sqrt(var + eps) · gain + bias, gain and bias [C] optional. The op changes no
 * state: running statistics are updated by the caller, with `updateRunningStats`, from the
 * batch statistics it reports (so that calling the forward again, as gradcheck does, changes nothing).
 */
export const batchNorm = defineOp('batchNorm', (x: Tensor, gain: Tensor | null, bias: Tensor | null, mode: BatchNormMode) => {
  if (x.rank < 2) throw new Error(`batchNorm: x must be [N, C, ...] with channels on axis 1, got shape ${formatShape(x.shape)}`);
  const C = x.shape[1], eps = mode?.eps ?? 1e-5, n = x.size / Math.max(C, 1);
  if (!(eps > 0)) throw new Error(`batchNorm: eps must be > 0, got ${eps}`);
  perFeature('batchNorm', 'the gain', gain, x, C, 'axis 1 (the channels)');
  perFeature('batchNorm', 'the bias', bias, x, C, 'axis 1 (the channels)');
  const statShape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const gainShape = statShape.slice(1); // [C, 1, ...]: broadcasts against x
  const layout = [x.shape[0], C, k.sizeOf(x.shape.slice(2))] as const;
  let given: RunningStats | undefined;
  if (mode?.training === false) {
    if (!mode.running) throw new Error('batchNorm: evaluation needs the running statistics, { training: false, running: { mean, var } }');
    perFeature('batchNorm', 'the running mean', mode.running.mean, x, C, 'axis 1 (the channels)');
    perFeature('batchNorm', 'the running variance', mode.running.var, x, C, 'axis 1 (the channels)');
    given = { mean: mode.running.mean.clone(), var: mode.running.var.clone() }; // copies: a later update in place must not change this step's backward
  } else if (mode?.training !== true) {
    throw new Error('batchNorm: the mode must be { training: true } or { training: false, running: { mean, var } }');
  } else if (n < 2) {
    throw new Error(`batchNorm: training needs more than one value per channel to estimate a variance, got x ${formatShape(x.shape)}`);
  }
  const { out, mean, var: variance } = k.normalizeGroups(x.array, layout, eps, given && { mean: given.mean.array, var: given.var.array });
  if (mode.training && mode.stats) Object.assign(mode.stats, { mean: wrap(mean), var: wrap(variance), count: n });
  return {
    out: wrap(affine(out, gain, bias, gainShape)),
    backward: (g, needs, t): Gradients => {
      const { dx, dgain } = normBackward(t, g, x, statShape, eps, gain, gainShape, needs, given);
      return [dx, dgain, bias && needs[2] ? t.reshape(sumTo(t, g, gainShape), [C]) : null, null];
    },
  };
}, 'dx = (u - mean(u) - x̂·mean(u·x̂)) / σ with u = g·gain (training), g·gain / σ (evaluation); dgain = Σ g·x̂; dbias = Σ g');

/**
 * running ← (1 - momentum) running + momentum batch, in place, with the batch variance made
 * unbiased (count / (count - 1)), as PyTorch does. Call it after a training step's batchNorm.
 */
export function updateRunningStats(running: RunningStats, stats: BatchStats, momentum: number = 0.1): void {
  if (!stats.mean || !stats.var || !stats.count) throw new Error('updateRunningStats: the batch statistics are empty; pass the same object as batchNorm\'s { training: true, stats }');
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`updateRunningStats: momentum must be in [0, 1], got ${momentum}`);
  for (const [what, r, b] of [['mean', running.mean, stats.mean], ['variance', running.var, stats.var]] as const) {
    if (!k.sameShape(r.shape, b.shape)) throw new Error(`updateRunningStats: the running ${what} has shape ${formatShape(r.shape)} but the batch's has ${formatShape(b.shape)}`);
  }
  k.blendInPlace(running.mean.array, stats.mean.array, 1 - momentum, momentum);
  k.blendInPlace(running.var.array, stats.var.array, 1 - momentum, (momentum * stats.count) / (stats.count - 1));
}
