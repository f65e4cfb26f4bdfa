/**
 * 2-D pooling over the planes of an [N, C, H, W] array: the max (with the flat index of the first
 * maximum of each window, which its gradient goes to) and the average, and their adjoints. Windows
 * are clipped to the input: the padding is never a maximum, and counts in an average only when
 * asked to (count_include_pad). float32 in the kernels' memory runs in WebAssembly (assembly/pool.ts:
 * the max without branches); these loops are the float64 path and the reference.
 */
import ndarray from 'ndarray';
import { allocate, allocateF32, dtypeOf, type Data } from './memory.ts';
import { flat, type NdArray } from './arrays.ts';
import { float32Kernels } from './wasm.ts';

/** The sizes of a pooling: input [n, c, h, w], window kh x kw, output [n, c, oh, ow]. */
export interface PoolGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  oh: number;
  ow: number;
}

/** The max of each window and the flat index into x of its first maximum in row-major order (a NaN wins, so it propagates). */
export function maxPool2d(x: NdArray, g: PoolGeometry): { values: NdArray; argmax: Int32Array } {
  const X = flat(x),
    size = g.n * g.c * g.oh * g.ow,
    shape = [g.n, g.c, g.oh, g.ow];
  const out = allocate(dtypeOf(X), size);
  const argmax = float32Kernels(X, out)?.maxPool(X as Float32Array, out as Float32Array, g) ?? maxWindows(X, out, g);
  return { values: ndarray(out, shape), argmax };
}

/** maxPool2d's loops in TypeScript: the max of each window into `out`, and the indices of the first maxima. */
function maxWindows(X: Data, out: Data, g: PoolGeometry): Int32Array {
  const { h: H, w: W, kh, kw, sh, sw, ph, pw, oh, ow } = g,
    size = out.length,
    argmax = new Int32Array(size);
  for (let plane = 0, o = 0; o < size; plane += H * W) {
    for (let oy = 0; oy < oh; oy++) {
      const top = oy * sh - ph,
        y0 = Math.max(0, top),
        y1 = Math.min(H, top + kh);
      for (let ox = 0; ox < ow; ox++, o++) {
        const left = ox * sw - pw,
          x0 = Math.max(0, left),
          x1 = Math.min(W, left + kw);
        let best = -Infinity,
          at = plane + y0 * W + x0;
        search: for (let y = y0; y < y1; y++) {
          for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) {
            const v = X[i];
            if (v > best) {
              best = v;
              at = i;
            } else if (v !== v) {
              best = v;
              at = i;
              break search;
            }
          }
        }
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
  return argmax;
}

/** An array of `shape` of zeros plus each v[o] added at index[o]: the adjoint of picking x at index. */
export function scatterAddAt(v: NdArray, index: Int32Array, shape: readonly number[]): NdArray {
  return scatterAddInside(v, index, shape).array;
}

/**
 * scatterAddAt, also counting the indices outside the array (`outside`), which add nothing: a
 * caller checks its indices by that count in the same pass (maxPool2d's backward).
 */
export function scatterAddInside(v: NdArray, index: Int32Array, shape: readonly number[]): { array: NdArray; outside: number } {
  const V = flat(v),
    size = shape.reduce((a, b) => a * b, 1);
  const dtype = dtypeOf(V),
    wasm = float32Kernels(V),
    blank = dtype === 'float32' && wasm ? allocateF32(size, false) : null;
  const skipped = blank && wasm!.scatterAdd(V as Float32Array, index, blank); // zeroes `blank` first
  if (skipped != null) return { array: ndarray(blank!, [...shape]), outside: skipped };
  const out = blank ? blank.fill(0) : allocate(dtype, size);
  let outside = 0;
  for (let o = 0; o < index.length; o++) {
    const i = index[o];
    if (i >= 0 && i < size) out[i] += V[o];
    else outside++;
  }
  return { array: ndarray(out, [...shape]), outside };
}

/** x's values at the flat indices `index`, in an array of `shape`. */
export function gatherAt(x: NdArray, index: Int32Array, shape: readonly number[]): NdArray {
  const X = flat(x),
    out = allocate(dtypeOf(X), index.length);
  for (let o = 0; o < index.length; o++) out[o] = X[index[o]];
  return ndarray(out, [...shape]);
}

/**
 * The mean of each window of `from` into `to` (backward = false), or its adjoint (backward = true):
 * each value of `from` (output-sized) spread over its window and added onto `to` (input-sized). A
 * window's sum is divided by the whole window (count_include_pad) or by the input values in it.
 */
function averageWindows(from: Data, to: Data, g: PoolGeometry, includePad: boolean, backward: boolean): void {
  const [x, out] = (backward ? [to, from] : [from, to]) as [Float32Array, Float32Array];
  if (!float32Kernels(from, to)?.avgPool(x, out, g, includePad, backward)) averageLoops(from, to, g, includePad, backward);
}

/** The loops of averageWindows in TypeScript: the float64 path and the reference. */
function averageLoops(from: Data, to: Data, g: PoolGeometry, includePad: boolean, backward: boolean): true {
  const { h: H, w: W, kh, kw, sh, sw, ph, pw, oh, ow } = g,
    size = g.n * g.c * oh * ow;
  for (let plane = 0, o = 0; o < size; plane += H * W) {
    for (let oy = 0; oy < oh; oy++) {
      const top = oy * sh - ph,
        y0 = Math.max(0, top),
        y1 = Math.min(H, top + kh);
      for (let ox = 0; ox < ow; ox++, o++) {
        const left = ox * sw - pw,
          x0 = Math.max(0, left),
          x1 = Math.min(W, left + kw);
        const divisor = includePad ? kh * kw : (y1 - y0) * (x1 - x0);
        if (backward) {
          const v = from[o] / divisor;
          for (let y = y0; y < y1; y++) for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) to[i] += v;
        } else {
          let s = 0;
          for (let y = y0; y < y1; y++) for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) s += from[i];
          to[o] = s / divisor;
        }
      }
    }
  }
  return true;
}

/** The mean of each window. */
export function avgPool2d(x: NdArray, g: PoolGeometry, includePad: boolean): NdArray {
  const X = flat(x),
    out = allocate(dtypeOf(X), g.n * g.c * g.oh * g.ow);
  averageWindows(X, out, g, includePad, false);
  return ndarray(out, [g.n, g.c, g.oh, g.ow]);
}

/** The adjoint of avgPool2d: each gy[o] spread over its window, divided as the forward divided. */
export function avgPool2dBackward(gy: NdArray, g: PoolGeometry, includePad: boolean): NdArray {
  const G = flat(gy),
    dx = allocate(dtypeOf(G), g.n * g.c * g.h * g.w);
  averageWindows(G, dx, g, includePad, true);
  return ndarray(dx, [g.n, g.c, g.h, g.w]);
}
