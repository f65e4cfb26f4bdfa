/**
 * Regularisation and normalisation: dropout, layer normalisation and batch normalisation.
 *
 * The normalisations compute their forward with one kernel. Their backward passes go through
 * `standardize` (x̂ from x, recomputed in one kernel rather than saved, so that the gradient still
 * depends on x when it is differentiated again) and its fused backward `standardizeBackward`,
 * whose own backward is written with ops.
 */
import * as k from '../kernels/index.ts';
import { formatShape, Tensor, type Shape } from '../tensor.ts';
import { defineOp, expectSameDtype, wrap, type Gradients } from '../op.ts';
import { Rng } from '../random.ts';
import { sumTo } from './shape.ts';

/**
 * Inverted dropout: in training, each element is zeroed with probability p and the others scaled
 * by 1/(1 - p), from a mask drawn from `rng` (one draw per element, row-major: the same generator
 * state gives the same mask); outside training, the identity.
 */
export const dropout = defineOp(
  'dropout',
  (x: Tensor, p: number, rng: Rng | null, training: boolean) => {
    if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
    if (typeof training !== 'boolean') throw new Error(`dropout: training must be true or false, got ${training}`);
    if (!training || p === 0) return { out: wrap(x.array), backward: (g): Gradients => [g, null, null, null] };
    if (!(rng instanceof Rng)) throw new Error("dropout: training needs the run's Rng to draw the mask, got none");
    const mask = wrap(k.dropoutMask(x.shape, x.dtype, p, () => rng.uniform()));
    return { out: wrap(k.zip(x.array, mask.array, x.shape, (a, b) => a * b)), backward: (g, _needs, t): Gradients => [t.mul(g, mask), null, null, null] };
  },
  'dx = g · mask / (1 - p)',
);

/**
 * The layout of x as [outer, groups, inner] for statistics over the axes where `statShape` has 1
 * (as sumToShape's target): the axes it keeps (a run of consecutive axes) make the groups.
 */
function layoutOf(op: string, x: Tensor, statShape: Shape): k.GroupLayout {
  const kept = statShape.flatMap((d, i) => (d !== 1 ? [i] : []));
  const first = kept[0] ?? x.rank,
    last = kept[kept.length - 1] ?? x.rank - 1;
  const fits = statShape.length === x.rank && statShape.every((d, i) => d === 1 || d === x.shape[i]);
  if (!fits || x.shape.slice(first, last + 1).some((d, i) => d !== statShape[first + i])) {
    throw new Error(
      `${op}: statistics of shape ${formatShape(statShape)} do not fit x ${formatShape(x.shape)}: give x's size on a run of consecutive axes to keep, 1 on the others`,
    );
  }
  return [k.sizeOf(x.shape.slice(0, first)), k.sizeOf(x.shape.slice(first, last + 1)), k.sizeOf(x.shape.slice(last + 1))];
}

/**
 * x̂ = (x - mean) / sqrt(var + eps), the mean and biased variance taken over the axes where
 * `statShape` has 1 ([rows, 1] for rows of [rows, D], [1, C, 1, 1] for channels of [N, C, H, W]):
 * what layerNorm and batchNorm normalise with; their backward passes use it to recompute x̂.
 */
export const standardize = defineOp(
  'standardize',
  (x: Tensor, statShape: Shape, eps: number = 1e-5) => {
    const layout = layoutOf('standardize', x, statShape);
    return {
      out: wrap(k.normalizeGroups(x.array, layout, eps).out),
      backward: (g, _needs, t): Gradients => [t.standardizeBackward(g, x, statShape, eps), null, null],
    };
  },
  'dx = (g - mean(g) - x̂·mean(g·x̂)) / σ',
);

/**
 * y = (u - mean(u) - x̂ mean(u x̂)) / σ, standardize's backward for the upstream u, in one kernel.
 * Its own backward, written with ops (per group of n values; r = 1/σ, A = Σ h (u - mean(u)),
 * B = Σ h x̂, m = mean(u x̂)): du = standardizeBackward(h), dx = r² x̂ (B m - A) / n - r B y / n - r m standardizeBackward(h).
 */
export const standardizeBackward = defineOp(
  'standardizeBackward',
  (u: Tensor, x: Tensor, statShape: Shape, eps: number = 1e-5) => {
    expectSameDtype('standardizeBackward', u, x);
    if (!k.sameShape(u.shape, x.shape)) throw new Error(`standardizeBackward: u ${formatShape(u.shape)} and x ${formatShape(x.shape)} differ in shape`);
    const layout = layoutOf('standardizeBackward', x, statShape),
      n = layout[0] * layout[2];
    const y = wrap(k.normalizeGroupsGrad(u.array, x.array, layout, eps));
    return {
      out: y,
      saves: [u, x, y],
      backward: (h, needs, t): Gradients => {
        const Fh = t.standardizeBackward(h, x, statShape, eps);
        if (!needs[1]) return [Fh, null, null, null];
        const sum = (v: Tensor) => t.sumToShape(v, statShape);
        const centred = t.sub(x, t.scale(sum(x), 1 / n));
        const r2 = t.pow(t.add(t.scale(sum(t.square(centred)), 1 / n), eps), -1),
          r = t.sqrt(r2);
        const xhat = t.mul(centred, r);
        const A = t.sub(sum(t.mul(h, u)), t.scale(t.mul(sum(h), sum(u)), 1 / n)),
          B = sum(t.mul(h, xhat)),
          m = t.scale(sum(t.mul(u, xhat)), 1 / n);
        const dx = t.sub(t.mul(t.mul(xhat, r2), t.scale(t.sub(t.mul(B, m), A), 1 / n)), t.add(t.mul(y, t.scale(t.mul(r, B), 1 / n)), t.mul(Fh, t.mul(r, m))));
        return [needs[0] ? Fh : null, dx, null, null];
      },
    };
  },
  'du = standardizeBackward(h), dx = r²x̂(Bm - A)/n - rBy/n - r·m·standardizeBackward(h)',
);

/** Checks an optional per-feature tensor (a gain, a bias, a statistic) against the size it must have. */
function perFeature(op: string, what: string, v: Tensor | null | undefined, x: Tensor, size: number, axis: string): void {
  if (v === null || v === undefined) return;
  if (!(v instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor or null`);
  expectSameDtype(op, x, v);
  if (v.rank !== 1 || v.shape[0] !== size) {
    throw new Error(`${op}: ${what} has shape ${formatShape(v.shape)} but x ${formatShape(x.shape)} needs [${size}], one per element of ${axis}`);
  }
}

/**
 * Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) · gain + bias, with the
 * biased variance of each row, and gain and bias [D] optional (null to leave one out).
 */
export const layerNorm = defineOp(
  'layerNorm',
  (x: Tensor, gain: Tensor | null = null, bias: Tensor | null = null, eps: number = 1e-5) => {
    if (x.rank === 0) throw new Error('layerNorm: x must have at least one axis, got shape []');
    if (!(eps > 0)) throw new Error(`layerNorm: eps must be > 0, got ${eps}`);
    const D = x.shape[x.rank - 1],
      rows = k.sizeOf(x.shape.slice(0, -1));
    perFeature('layerNorm', 'the gain', gain, x, D, 'the last axis');
    perFeature('layerNorm', 'the bias', bias, x, D, 'the last axis');
    const { out } = k.normalizeGroups(x.array, [1, rows, D], eps, undefined, { gain: gain?.array, bias: bias?.array, per: 'inner' });
    const statShape = [...x.shape.slice(0, -1), 1];
    return {
      out: wrap(out),
      // dx through the fused standardizeBackward; x̂ recomputed (one kernel) for dgain
      backward: (g, needs, t): Gradients => [
        needs[0] ? t.standardizeBackward(gain ? t.mul(g, gain) : g, x, statShape, eps) : null,
        gain && needs[1] ? sumTo(t, t.mul(g, t.standardize(x, statShape, eps)), gain.shape) : null,
        bias && needs[2] ? sumTo(t, g, bias.shape) : null,
        null,
      ],
    };
  },
  'dx = (u - mean(u) - x̂·mean(u·x̂)) / σ with u = g·gain; dgain = Σ g·x̂; dbias = Σ g',
);

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
export const batchNorm = defineOp(
  'batchNorm',
  (x: Tensor, gain: Tensor | null, bias: Tensor | null, mode: BatchNormMode) => {
    if (x.rank < 2) throw new Error(`batchNorm: x must be [N, C, ...] with channels on axis 1, got shape ${formatShape(x.shape)}`);
    const C = x.shape[1],
      eps = mode?.eps ?? 1e-5,
      n = x.size / Math.max(C, 1);
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
    const affine = { gain: gain?.array, bias: bias?.array, per: 'group' } as const;
    const { out, mean, var: variance } = k.normalizeGroups(x.array, layout, eps, given && { mean: given.mean.array, var: given.var.array }, affine);
    if (mode.training && mode.stats) Object.assign(mode.stats, { mean: wrap(mean), var: wrap(variance), count: n });
    return {
      out: wrap(out),
      backward: (g, needs, t): Gradients => {
        const u = gain ? t.mul(g, t.reshape(gain, gainShape)) : g;
        let dx: Tensor | null = null,
          xhat: () => Tensor;
        if (given) {
          // x̂ = (x - mean) / σ with constant statistics: linear in x
          const rstd = wrap(
            k.reshape(
              k.map(given.var.array, (v) => 1 / Math.sqrt(v + eps)),
              gainShape,
            ),
          );
          if (needs[0]) dx = t.mul(u, rstd);
          xhat = () => t.mul(t.sub(x, t.reshape(given!.mean, gainShape)), rstd);
        } else {
          if (needs[0]) dx = t.standardizeBackward(u, x, statShape, eps);
          xhat = () => t.standardize(x, statShape, eps);
        }
        const perChannel = (v: Tensor) => t.reshape(sumTo(t, v, gainShape), [C]);
        return [dx, gain && needs[1] ? perChannel(t.mul(g, xhat())) : null, bias && needs[2] ? perChannel(g) : null, null];
      },
    };
  },
  'dx = (u - mean(u) - x̂·mean(u·x̂)) / σ with u = g·gain (training), g·gain / σ (evaluation); dgain = Σ g·x̂; dbias = Σ g',
);

/**
 * running ← (1 - momentum) running + momentum batch, in place, with the batch variance made
 * unbiased (count / (count - 1)), as PyTorch does. Call it after a training step's batchNorm.
 */
export function updateRunningStats(running: RunningStats, stats: BatchStats, momentum: number = 0.1): void {
  if (!stats.mean || !stats.var || !stats.count)
    throw new Error("updateRunningStats: the batch statistics are empty; pass the same object as batchNorm's { training: true, stats }");
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`updateRunningStats: momentum must be in [0, 1], got ${momentum}`);
  for (const [what, r, b] of [
    ['mean', running.mean, stats.mean],
    ['variance', running.var, stats.var],
  ] as const) {
    if (!k.sameShape(r.shape, b.shape))
      throw new Error(`updateRunningStats: the running ${what} has shape ${formatShape(r.shape)} but the batch's has ${formatShape(b.shape)}`);
  }
  const count = stats.count,
    mean = stats.mean,
    variance = stats.var;
  running.mean.update((a) => k.blendInPlace(a, mean.array, 1 - momentum, momentum));
  running.var.update((a) => k.blendInPlace(a, variance.array, 1 - momentum, (momentum * count) / (count - 1)));
}
