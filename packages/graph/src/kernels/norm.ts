/**
 * Normalisation and dropout: the statistics of groups of values, normalising by them, blending
 * running statistics, and a dropout mask drawn in row-major order.
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf, type Data, type DType } from './memory.ts';
import { flat, isContiguous, type NdArray, type Shape } from './arrays.ts';

/** How x is grouped: viewed as [outer, groups, inner], group g holds x[o, g, i] for every o and i. */
export type GroupLayout = readonly [outer: number, groups: number, inner: number];

/** Each group's mean and biased variance, in two passes (no cancellation for data far from 0). */
function groupMoments(v: Data, [outer, groups, inner]: GroupLayout): { mean: Data; variance: Data } {
  const mean = allocate(dtypeOf(v), groups),
    variance = allocate(dtypeOf(v), groups),
    n = outer * inner;
  for (let g = 0; g < groups; g++) {
    let s = 0;
    for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) s += v[p + i];
    const m = s / n;
    let q = 0;
    for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) q += (v[p + i] - m) ** 2;
    mean[g] = m;
    variance[g] = q / n;
  }
  return { mean, variance };
}

/**
 * x normalised within each group of `layout` (a channel of [N, C, H, W] is [N, C, H·W]'s group;
 * a row of [rows, D] is [1, rows, D]'s): (x - mean_g) / sqrt(var_g + eps), with each group's mean
 * and biased variance; with `given`, normalised by those statistics instead. `affine` then scales
 * and shifts in the same pass, by a gain and a bias (either may be absent) per group or per inner
 * position.
 */
export function normalizeGroups(
  x: NdArray,
  layout: GroupLayout,
  eps: number,
  given?: { mean: NdArray; var: NdArray },
  affine?: { gain?: NdArray; bias?: NdArray; per: 'group' | 'inner' },
): { out: NdArray; mean: NdArray; var: NdArray } {
  const v = flat(x),
    dtype = dtypeOf(v),
    [outer, groups, inner] = layout;
  const { mean, variance } = given ? { mean: flat(given.mean, dtype), variance: flat(given.var, dtype) } : groupMoments(v, layout);
  const gain = affine?.gain && flat(affine.gain, dtype),
    bias = affine?.bias && flat(affine.bias, dtype),
    perGroup = affine?.per === 'group';
  const out = allocate(dtype, v.length);
  for (let g = 0; g < groups; g++) {
    const m = mean[g],
      r = 1 / Math.sqrt(variance[g] + eps);
    for (let o = 0; o < outer; o++) {
      for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) {
        const at = perGroup ? g : i;
        out[p + i] = (v[p + i] - m) * r * (gain ? gain[at] : 1) + (bias ? bias[at] : 0);
      }
    }
  }
  return { out: ndarray(out, x.shape.slice()), mean: ndarray(mean, [groups]), var: ndarray(variance, [groups]) };
}

/**
 * The backward of normalizeGroups by the groups' own statistics, in one pass per group:
 * dx = r (u - mean(u) - x̂ mean(u x̂)) with x̂ the normalised x and r = 1 / sqrt(var + eps).
 */
export function normalizeGroupsGrad(u: NdArray, x: NdArray, layout: GroupLayout, eps: number): NdArray {
  const v = flat(x),
    dtype = dtypeOf(v),
    w = flat(u, dtype),
    [outer, groups, inner] = layout,
    n = outer * inner;
  const { mean, variance } = groupMoments(v, layout);
  const out = allocate(dtype, v.length);
  for (let g = 0; g < groups; g++) {
    const m = mean[g],
      r = 1 / Math.sqrt(variance[g] + eps);
    let su = 0,
      sux = 0;
    for (let o = 0; o < outer; o++) {
      for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) {
        su += w[p + i];
        sux += w[p + i] * (v[p + i] - m) * r;
      }
    }
    const mu = su / n,
      mux = sux / n;
    for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) out[p + i] = r * (w[p + i] - mu - (v[p + i] - m) * r * mux);
  }
  return ndarray(out, x.shape.slice());
}

/** dst = keep * dst + add * src in place, for a contiguous dst (running statistics). */
export function blendInPlace(dst: NdArray, src: NdArray, keep: number, add: number): void {
  if (!isContiguous(dst)) throw new Error('blendInPlace: the destination must be contiguous');
  const d = dst.data,
    s = flat(src, dtypeOf(d));
  for (let i = 0; i < d.length; i++) d[i] = keep * d[i] + add * s[i];
}

/**
 * A dropout mask of `shape`: 0 with probability p, else 1 / (1 - p); one draw per element, in
 * row-major order, so the same generator state gives the same mask.
 */
export function dropoutMask(shape: Shape, dtype: DType, p: number, draw: () => number): NdArray {
  const size = shape.reduce((a, b) => a * b, 1),
    out: Data = allocate(dtype, size),
    kept = 1 / (1 - p);
  for (let i = 0; i < size; i++) out[i] = draw() < p ? 0 : kept;
  return ndarray(out, [...shape]);
}
