/** Reductions along an axis or over everything, softmax rows, and finding non-finite values. */
import ndarray from 'ndarray';
import { allocate, dtypeOf, type Data } from './memory.ts';
import type { NdArray, Shape } from './arrays.ts';
import { flat, isContiguous, reshape, sameShape, sizeOf, unravel } from './arrays.ts';
import { float32Kernels } from './wasm.ts';

/** `a` with `axis` moved last, as a contiguous [rows, len] array. */
function axisLast(a: NdArray, axis: number): { rows: number; len: number; data: Data; rest: number[] } {
  const n = a.shape.length;
  const perm = [...Array(n).keys()].filter((d) => d !== axis).concat(axis);
  const t = a.transpose(...perm);
  const len = a.shape[axis];
  return { rows: a.size / Math.max(len, 1), len, data: flat(t), rest: perm.slice(0, -1).map((d) => a.shape[d]) };
}

export function sumAll(a: NdArray): number {
  const x = flat(a);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** Sum along one axis; the axis is removed from the shape. */
export function sumAxis(a: NdArray, axis: number): NdArray {
  // The column sums of a matrix (a bias gradient) by the SIMD kernel, in the same order.
  const w = axis === 0 && a.shape.length === 2 ? float32Kernels(a.data) : null;
  const out = w && w.sumRows(a);
  return out ? ndarray(out, [a.shape[1]]) : sumAxisTS(a, axis);
}

function sumAxisTS(a: NdArray, axis: number): NdArray {
  if (isContiguous(a)) {
    // In place: out[o, j] = sum over l of a[o, l, j], with `inner` contiguous values per step.
    const outer = sizeOf(a.shape.slice(0, axis)),
      len = a.shape[axis],
      inner = sizeOf(a.shape.slice(axis + 1));
    const x = a.data,
      out = allocate(dtypeOf(x), outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        const src = (o * len + l) * inner,
          dst = o * inner;
        for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
      }
    }
    return ndarray(
      out,
      a.shape.filter((_, d) => d !== axis),
    );
  }
  const { rows, len, data, rest } = axisLast(a, axis);
  const out = allocate(dtypeOf(a.data), rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0, p = r * len; j < len; j++, p++) s += data[p];
    out[r] = s;
  }
  return ndarray(out, rest);
}

/** Max along one axis (axis removed), and the index of the first maximum in each row. */
export function maxAxis(a: NdArray, axis: number): { values: NdArray; argmax: Int32Array } {
  const { rows, len, data, rest } = axisLast(a, axis);
  const out = allocate(dtypeOf(a.data), rows);
  const argmax = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -Infinity,
      at = 0;
    for (let j = 0, p = r * len; j < len; j++, p++) {
      if (data[p] > best || Number.isNaN(data[p])) {
        best = data[p];
        at = j;
        if (Number.isNaN(best)) break;
      }
    }
    out[r] = best;
    argmax[r] = at;
  }
  return { values: ndarray(out, rest), argmax };
}

/**
 * log Σ exp(x) along one axis (removed), as m + log Σ exp(x - m) with m the max (no overflow); a
 * row whose max is infinite gives that max.
 */
export function logSumExpAxis(a: NdArray, axis: number): NdArray {
  const { rows, len, data, rest } = axisLast(a, axis);
  const out = allocate(dtypeOf(a.data), rows);
  for (let r = 0, o = 0; r < rows; r++, o += len) {
    let m = -Infinity;
    for (let j = o; j < o + len; j++) if (data[j] > m || data[j] !== data[j]) m = data[j];
    if (m === Infinity || m === -Infinity || m !== m) {
      out[r] = m;
      continue;
    }
    let s = 0;
    for (let j = o; j < o + len; j++) s += Math.exp(data[j] - m);
    out[r] = m + Math.log(s);
  }
  return ndarray(out, rest);
}

/** Inserts a length-1 axis: the inverse of a reduction's shape, ready to broadcast back. */
export function expandAxis(a: NdArray, axis: number): NdArray {
  const shape = a.shape.slice();
  shape.splice(axis, 0, 1);
  return reshape(a, shape);
}

/** Softmax (or its log) along the last axis, of length `len`, shifted by the row max (stable): flat row-major values. */
export function softmaxRows(a: NdArray, len: number, log: boolean): NdArray {
  const x = flat(a),
    rows = x.length / len;
  const out = allocate(dtypeOf(x), x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * len;
    let max = -Infinity;
    for (let j = 0; j < len; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < len; j++) sum += Math.exp(x[o + j] - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < len; j++) {
      const z = x[o + j] - max;
      out[o + j] = log ? z - logSum : Math.exp(z) / sum;
    }
  }
  return ndarray(out, a.shape.slice());
}

/** The index of the first value in `a` (any shape) that is NaN or infinite, or null. */
export function firstNonFinite(a: NdArray): number[] | null {
  const x = flat(a);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) return unravel(i, a.shape);
  }
  return null;
}

/** Sums `g` down to `shape`: the backward of broadcasting (a bias gets the column sums). */
export function sumToShape(g: NdArray, shape: Shape): NdArray {
  if (sameShape(g.shape, shape)) return g;
  let cur = g;
  const lead = g.shape.length - shape.length;
  for (let i = 0; i < lead; i++) cur = sumAxis(cur, 0);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 && cur.shape[d] !== 1)
      cur = reshape(
        sumAxis(cur, d),
        cur.shape.map((s, i) => (i === d ? 1 : s)),
      );
  }
  return reshape(cur, shape);
}
