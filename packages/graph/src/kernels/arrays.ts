/** Layout: contiguity, flat views, broadcasting and reshaping. */
import ndarray from 'ndarray';
import { allocate, contiguous, dtypeOf, type Data, type DType, type NdArray, type Shape } from '../tensor.ts';

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
