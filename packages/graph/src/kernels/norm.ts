/**
 * Normalisation and dropout: the statistics of groups of values, normalising by them, blending
 * running statistics, and a dropout mask drawn in row-major order.
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf, type Data, type DType } from './memory.ts';
import { flat, isContiguous, type NdArray, type Shape } from './arrays.ts';

/**
 * x viewed as [outer, groups, inner]: each group's values are x[o, g, i] over all o and i (a
 * channel of [N, C, H, W] has outer N, inner H W; a row of [rows, D] has outer 1, inner D).
 * Returns the normalised x (x - mean_g) / sqrt(var_g + eps), and each group's mean and biased
 * variance; with `given`, normalises by those statistics instead of computing them.
 */
export function normalizeGroups(
  x: NdArray,
  [outer, groups, inner]: readonly [number, number, number],
  eps: number,
  given?: { mean: NdArray; var: NdArray },
): { out: NdArray; mean: NdArray; var: NdArray } {
  const v = flat(x), dtype = dtypeOf(v);
  const mean = given ? flat(given.mean, dtype) : allocate(dtype, groups), variance = given ? flat(given.var, dtype) : allocate(dtype, groups);
  if (!given) {
    // Two passes (the mean, then squared deviations from it): no cancellation for data far from 0.
    const n = outer * inner;
    for (let g = 0; g < groups; g++) {
      let s = 0;
      for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) s += v[p + i];
      const m = s / n;
      let q = 0;
      for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) q += (v[p + i] - m) ** 2;
      mean[g] = m;
      variance[g] = q / n;
    }
  }
  const out = allocate(dtype, v.length);
  for (let g = 0; g < groups; g++) {
    const m = mean[g], r = 1 / Math.sqrt(variance[g] + eps);
    for (let o = 0; o < outer; o++) for (let i = 0, p = (o * groups + g) * inner; i < inner; i++) out[p + i] = (v[p + i] - m) * r;
  }
  return { out: ndarray(out, x.shape.slice()), mean: ndarray(mean, [groups]), var: ndarray(variance, [groups]) };
}

/** dst = keep * dst + add * src in place, for a contiguous dst (running statistics). */
export function blendInPlace(dst: NdArray, src: NdArray, keep: number, add: number): void {
  if (!isContiguous(dst)) throw new Error('blendInPlace: the destination must be contiguous');
  const d = dst.data, s = flat(src, dtypeOf(d));
  for (let i = 0; i < d.length; i++) d[i] = keep * d[i] + add * s[i];
}

/**
 * A dropout mask of `shape`: 0 with probability p, else 1 / (1 - p); one draw per element, in
 * row-major order, so the same generator state gives the same mask.
 */
export function dropoutMask(shape: Shape, dtype: DType, p: number, draw: () => number): NdArray {
  const size = shape.reduce((a, b) => a * b, 1), out: Data = allocate(dtype, size), kept = 1 / (1 - p);
  for (let i = 0; i < size; i++) out[i] = draw() < p ? 0 : kept;
  return ndarray(out, [...shape]);
}
