/**
 * The hot loops: matrix product, elementwise maps, broadcasting and reductions.
 *
 * This is the only module that touches `ndarray` internals (data, strides, offsets): ops and the
 * tape see tensors. Every kernel returns a fresh contiguous row-major array, so a faster kernel
 * can replace one here without touching an op.
 */
import ndarray from 'ndarray';
import { allocate, contiguous, dtypeOf, type Data, type DType, type NdArray, type Shape } from './tensor.ts';

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function empty(dtype: DType, shape: Shape): NdArray {
  return ndarray(allocate(dtype, sizeOf(shape)), [...shape]);
}

/** Row-major and starting where its data does: its `.data` can be walked flat. */
export function isContiguous(a: NdArray): boolean {
  let expected = 1;
  for (let d = a.shape.length - 1; d >= 0; d--) {
    if (a.shape[d] !== 1 && a.stride[d] !== expected) return false;
    expected *= a.shape[d];
  }
  return a.offset === 0 && a.data.length === a.size;
}

/** The flat row-major values of `a`, copied only when `a` is a strided view. */
export function flat(a: NdArray, dtype: DType = dtypeOf(a.data)): Data {
  return isContiguous(a) && dtypeOf(a.data) === dtype ? a.data : contiguous(a, dtype).data;
}

// ---------------------------------------------------------------- broadcasting

/** The shape two operands broadcast to (numpy rules), or null when they do not. */
export function broadcastShape(a: Shape, b: Shape): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** A view of `a` with the given (broadcast) shape: stride 0 along the axes it is repeated. */
export function broadcastView(a: NdArray, shape: Shape): NdArray {
  const lead = shape.length - a.shape.length;
  const stride = shape.map((d, i) => (i < lead || a.shape[i - lead] !== d ? 0 : a.stride[i - lead]));
  return ndarray(a.data, [...shape], stride, a.offset);
}

/** Sums `g` down to `shape`: the backward of broadcasting (a bias gets the column sums). */
export function sumToShape(g: NdArray, shape: Shape): NdArray {
  if (g.shape.join() === shape.join()) return g;
  let cur = g;
  const lead = g.shape.length - shape.length;
  for (let i = 0; i < lead; i++) cur = sumAxis(cur, 0);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 && cur.shape[d] !== 1) cur = reshape(sumAxis(cur, d), cur.shape.map((s, i) => (i === d ? 1 : s)));
  }
  return reshape(cur, shape);
}

export function reshape(a: NdArray, shape: Shape): NdArray {
  return ndarray(flat(a), [...shape]);
}

// ---------------------------------------------------------------- elementwise

/** `f` applied to every element. */
export function map(a: NdArray, f: (x: number) => number): NdArray {
  const x = flat(a);
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return ndarray(out, a.shape.slice());
}

/** `f` applied elementwise to two arrays broadcast to `shape`. */
export function zip(a: NdArray, b: NdArray, shape: Shape, f: (x: number, y: number) => number): NdArray {
  const x = flat(a.shape.join() === shape.join() ? a : broadcastView(a, shape));
  const y = flat(b.shape.join() === shape.join() ? b : broadcastView(b, shape));
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i]);
  return ndarray(out, [...shape]);
}

/** `f` applied elementwise to three arrays of one shape (a backward rule's g, x and y, say). */
export function zip3(a: NdArray, b: NdArray, c: NdArray, f: (x: number, y: number, z: number) => number): NdArray {
  const x = flat(a), y = flat(b), z = flat(c);
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i], z[i]);
  return ndarray(out, a.shape.slice());
}

// ---------------------------------------------------------------- matrix product

/**
 * C = A B for 2-D arrays of any strides (transposed views included), accumulated row by row.
 * Zero entries of A are skipped: exact, and most of an MNIST batch is zeros.
 */
export function matmul(a: NdArray, b: NdArray): NdArray {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const out = allocate(dtypeOf(a.data), m * n);
  const A = a.data, B = b.data;
  const [as0, as1] = a.stride;
  const [bs0, bs1] = b.stride;
  if (bs1 === 1) {
    // B's rows are contiguous: C[i,:] += A[i,p] * B[p,:], unit stride in the inner loop.
    for (let i = 0; i < m; i++) {
      const c = i * n;
      for (let p = 0; p < k; p++) {
        const aip = A[a.offset + i * as0 + p * as1];
        if (aip === 0) continue;
        const r = b.offset + p * bs0;
        for (let j = 0; j < n; j++) out[c + j] += aip * B[r + j];
      }
    }
  } else {
    // B's columns are contiguous (B is a transposed view): C[i,j] = dot(A[i,:], B[:,j]).
    for (let i = 0; i < m; i++) {
      const ra = a.offset + i * as0;
      for (let j = 0; j < n; j++) {
        const rb = b.offset + j * bs1;
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ra + p * as1] * B[rb + p * bs0];
        out[i * n + j] = s;
      }
    }
  }
  return ndarray(out, [m, n]);
}

// ---------------------------------------------------------------- reductions

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
    let best = -Infinity, at = 0;
    for (let j = 0, p = r * len; j < len; j++, p++) {
      if (data[p] > best || Number.isNaN(data[p])) { best = data[p]; at = j; if (Number.isNaN(best)) break; }
    }
    out[r] = best;
    argmax[r] = at;
  }
  return { values: ndarray(out, rest), argmax };
}

/** Inserts a length-1 axis: the inverse of a reduction's shape, ready to broadcast back. */
export function expandAxis(a: NdArray, axis: number): NdArray {
  const shape = a.shape.slice();
  shape.splice(axis, 0, 1);
  return reshape(a, shape);
}

/** Softmax along the last axis of a contiguous [rows, len] view, shifted by the row max (stable). */
export function softmaxRows(x: Data, rows: number, len: number, log: boolean): Data {
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
  return out;
}

/** The index of the first value in `a` (any shape) that is NaN or infinite, or null. */
export function firstNonFinite(a: NdArray): number[] | null {
  const x = flat(a);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const index: number[] = [];
      let rest = i;
      for (let d = a.shape.length - 1; d >= 0; d--) {
        index.unshift(rest % a.shape[d]);
        rest = Math.floor(rest / a.shape[d]);
      }
      return index;
    }
  }
  return null;
}
