/** Layout: contiguity, flat views, broadcasting and reshaping. */
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { allocate, dtypeOf, type Data, type DType } from './memory.ts';

export type NdArray = ndarray.NdArray<Data>;
export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** Whether two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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

/**
 * A contiguous row-major copy of an array (of any strides, broadcast views included) in the given
 * dtype. Matrices are copied by a plain loop (a memcpy when their rows are contiguous): ndarray-ops'
 * generic loop costs tens of microseconds a call even for a small matrix.
 */
export function contiguous(a: NdArray, dtype: DType, lifetime: 'scope' | 'owned' = 'scope'): NdArray {
  const out = ndarray(allocate(dtype, a.size, lifetime), a.shape.slice());
  const to = out.data,
    from = a.data;
  if (a.shape.length === 0) to[0] = from[a.offset];
  else if (a.shape.length === 2) {
    const [rows, cols] = a.shape,
      [s0, s1] = a.stride;
    if (s1 === 1 && s0 === cols && dtypeOf(from) === dtype) to.set(from.subarray(a.offset, a.offset + rows * cols));
    else for (let i = 0, k = 0; i < rows; i++) for (let j = 0, at = a.offset + i * s0; j < cols; j++, at += s1) to[k++] = from[at];
  } else if (a.size > 0) ops.assign(out, a); // ndarray-ops walks any strides
  return out;
}

/** Copies `from` into `to` (one shape, any strides): contiguous arrays of one dtype with one `set`. */
export function assignArray(to: NdArray, from: NdArray): void {
  if (isContiguous(to) && isContiguous(from) && dtypeOf(to.data) === dtypeOf(from.data)) to.data.set(from.data);
  else if (to.size > 0) ops.assign(to, from);
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

export function reshape(a: NdArray, shape: Shape): NdArray {
  return ndarray(flat(a), [...shape]);
}

/** The coordinates of element `flatIndex` of a row-major array of `shape`. */
export function unravel(flatIndex: number, shape: Shape): number[] {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(flatIndex % shape[d]);
    flatIndex = Math.floor(flatIndex / shape[d]);
  }
  return at;
}
