/**
 * Row-wise kernels for reductions, indexing and losses: the loops that ops
 * would otherwise write on raw arrays. Each takes and returns flat row-major data.
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf, type Data } from './memory.ts';
import { flat, type NdArray, type Shape } from './arrays.ts';

/** out[r] = x[r, index[r]] for a row-major [rows, len] array. */
export function gatherRows(x: NdArray, index: ArrayLike<number>): NdArray {
  const [rows, len] = x.shape,
    v = flat(x),
    out = allocate(dtypeOf(v), rows);
  for (let r = 0; r < rows; r++) out[r] = v[r * len + index[r]];
  return ndarray(out, [rows]);
}

/** A [rows, len] array of zeros but for g[r] at [r, index[r]]: the backward of `gatherRows` and of a max. */
export function scatterRows(g: NdArray, index: ArrayLike<number>, len: number, shape: Shape = [g.size, len]): NdArray {
  const gv = flat(g),
    out = allocate(dtypeOf(gv), gv.length * len);
  for (let r = 0; r < gv.length; r++) out[r * len + index[r]] = gv[r];
  return ndarray(out, [...shape]);
}

/** dx = y (g - sum(g y)) per row: the backward of softmax from its output y [rows, len]. */
export function softmaxGrad(g: NdArray, y: Data, len: number): NdArray {
  const gv = flat(g),
    dx = allocate(dtypeOf(y), y.length);
  for (let o = 0; o < y.length; o += len) {
    let dot = 0;
    for (let j = o; j < o + len; j++) dot += gv[j] * y[j];
    for (let j = o; j < o + len; j++) dx[j] = y[j] * (gv[j] - dot);
  }
  return ndarray(dx, g.shape.slice());
}

/** dx = g - exp(y) sum(g) per row: the backward of log-softmax from its output y [rows, len]. */
export function logSoftmaxGrad(g: NdArray, y: Data, len: number): NdArray {
  const gv = flat(g),
    dx = allocate(dtypeOf(y), y.length);
  for (let o = 0; o < y.length; o += len) {
    let total = 0;
    for (let j = o; j < o + len; j++) total += gv[j];
    for (let j = o; j < o + len; j++) dx[j] = gv[j] - Math.exp(y[j]) * total;
  }
  return ndarray(dx, g.shape.slice());
}

/** The index of the first maximum of each row of a [rows, len] array; a row holding NaN gives the NaN's index. */
export function argmaxRows(x: NdArray): Int32Array {
  const [rows, len] = x.shape,
    v = flat(x),
    out = new Int32Array(rows);
  for (let r = 0, o = 0; r < rows; r++, o += len) {
    let best = o;
    for (let j = o; j < o + len; j++) {
      if (Number.isNaN(v[j])) {
        best = j;
        break;
      }
      if (v[j] > v[best]) best = j;
    }
    out[r] = best - o;
  }
  return out;
}

/** The sum of x[i]^2 in float64 (for a gradient's norm: float32 squares summed in float32 would lose digits). */
export function sumOfSquares(x: Data): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** x *= c in place. */
export function scaleInPlace(x: Data, c: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= c;
}

/**
 * The multiclass hinge loss of scores S [n, c] (mean over rows of the sum over j != y of
 * max(0, s_ij - s_iy + 1)) and its gradient dS for an upstream 1: 1/n where the margin is > 0,
 * minus their count over n at the label. A margin of exactly 0 is inactive (the kink); a NaN score
 * makes the loss NaN (a comparison alone would drop it).
 */
export function hingeRows(S: NdArray, labels: ArrayLike<number>): { loss: number; dS: NdArray } {
  const [n, c] = S.shape,
    s = flat(S),
    dS = allocate(dtypeOf(s), n * c);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c,
      y = labels[i],
      sy = s[row + y];
    let active = 0;
    for (let j = 0; j < c; j++) {
      if (j === y) continue;
      const margin = s[row + j] - sy + 1;
      if (margin > 0) {
        loss += margin;
        dS[row + j] = 1 / n;
        active++;
      } else if (margin !== margin) loss = NaN;
    }
    dS[row + y] = -active / n;
  }
  return { loss: loss / n, dS: ndarray(dS, [n, c]) };
}

/** -log p_iy averaged over the rows of log-probabilities logP [n, c]. */
export function meanNegativePicked(logP: NdArray, labels: ArrayLike<number>): number {
  const [n, c] = logP.shape,
    v = flat(logP);
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= v[i * c + labels[i]];
  return loss / n;
}

/** A constant [n, c] one-hot of the labels. */
export function oneHotRows(n: number, c: number, labels: ArrayLike<number>, dtype: 'float32' | 'float64'): NdArray {
  const out = allocate(dtype, n * c);
  for (let i = 0; i < n; i++) out[i * c + labels[i]] = 1;
  return ndarray(out, [n, c]);
}
