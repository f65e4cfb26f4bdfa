/**
 * Copying parts of arrays: cutting a range out of an axis, padding, joining along an axis, rows
 * taken by index and added back by index, and choosing elementwise by a mask. Each returns a fresh
 * contiguous row-major array.
 */
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { allocate, dtypeOf, type DType } from './memory.ts';
import { broadcastView, contiguous, flat, sameShape, sizeOf, type NdArray, type Shape } from './arrays.ts';

/** Elements start .. start + length - 1 along `axis` (a strided view, then copied). */
export function narrow(a: NdArray, axis: number, start: number, length: number): NdArray {
  const shape = a.shape.slice();
  shape[axis] = length;
  const view = ndarray(a.data, shape, a.stride.slice(), a.offset + start * a.stride[axis]);
  return contiguous(view, dtypeOf(a.data));
}

/** `a` surrounded by `value`: widths[d] = [before, after] along each axis d. */
export function pad(a: NdArray, widths: readonly (readonly [number, number])[], value: number): NdArray {
  const shape = a.shape.map((d, i) => d + widths[i][0] + widths[i][1]);
  const out = ndarray(allocate(dtypeOf(a.data), sizeOf(shape)), shape);
  if (value !== 0) out.data.fill(value);
  if (a.size === 0) return out;
  // The interior: a view of `out` with a's shape, starting after the leading widths.
  const offset = widths.reduce((o, [before], d) => o + before * out.stride[d], 0);
  const interior = ndarray(out.data, a.shape.slice(), out.stride.slice(), offset);
  if (a.shape.length === 0) out.data[0] = a.data[a.offset];
  else ops.assign(interior, a);
  return out;
}

/**
 * The arrays joined along `axis` (all other sizes equal). Each input, flat, is a sequence of
 * `outer` blocks of shape[axis] * inner values; the output interleaves them block by block.
 */
export function concat(arrays: readonly NdArray[], axis: number, dtype: DType): NdArray {
  const first = arrays[0].shape;
  const shape = first.slice();
  shape[axis] = arrays.reduce((s, a) => s + a.shape[axis], 0);
  const outer = sizeOf(first.slice(0, axis)),
    inner = sizeOf(first.slice(axis + 1));
  const out = allocate(dtype, sizeOf(shape)),
    row = shape[axis] * inner;
  let at = 0;
  for (const a of arrays) {
    const x = flat(a, dtype),
      block = a.shape[axis] * inner;
    for (let o = 0; o < outer; o++) out.set(x.subarray(o * block, (o + 1) * block), o * row + at);
    at += block;
  }
  return ndarray(out, shape);
}

/** Rows of x [rows, ...rest] chosen by index: out[i] = x[index[i]], shape [index.length, ...rest]. */
export function takeRows(x: NdArray, index: ArrayLike<number>): NdArray {
  const rest = x.shape.slice(1),
    size = sizeOf(rest),
    v = flat(x);
  const out = allocate(dtypeOf(v), index.length * size);
  for (let i = 0; i < index.length; i++) out.set(v.subarray(index[i] * size, (index[i] + 1) * size), i * size);
  return ndarray(out, [index.length, ...rest]);
}

/** Zeros of shape [rows, ...rest] with each g[i] added at row index[i] (repeated indices add up). */
export function scatterAddRows(g: NdArray, index: ArrayLike<number>, rows: number): NdArray {
  const rest = g.shape.slice(1),
    size = sizeOf(rest),
    v = flat(g);
  const out = allocate(dtypeOf(v), rows * size);
  for (let i = 0; i < index.length; i++) {
    const to = index[i] * size,
      from = i * size;
    for (let j = 0; j < size; j++) out[to + j] += v[from + j];
  }
  return ndarray(out, [rows, ...rest]);
}

/** a where the mask is 1, b where it is 0, all three broadcast to `shape`; values in `dtype`. */
export function where(mask: NdArray, a: NdArray, b: NdArray, shape: Shape, dtype: DType): NdArray {
  const view = (x: NdArray) => flat(sameShape(x.shape, shape) ? x : broadcastView(x, shape), dtypeOf(x.data));
  const m = view(mask),
    x = view(a),
    y = view(b);
  const out = allocate(dtype, m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] !== 0 ? x[i] : y[i];
  return ndarray(out, [...shape]);
}

/** The index of the first value of `a` that is neither 0 nor 1 (NaN included), or -1. */
export function firstNotBinary(a: NdArray): number {
  const x = flat(a);
  for (let i = 0; i < x.length; i++) if (x[i] !== 0 && x[i] !== 1) return i;
  return -1;
}
