/**
 * 2-D pooling over the planes of an [N, C, H, W] array: the max (with the flat index of the first
 * maximum of each window, which its gradient goes to) and the average, and their adjoints. Windows
 * are clipped to the input: the padding is never a maximum, and counts in an average only when
 * asked to (count_include_pad).
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf } from './memory.ts';
import { flat, type NdArray } from './arrays.ts';

/** The sizes of a pooling: input [n, c, h, w], window kh x kw, output [n, c, oh, ow]. */
export interface PoolGeometry {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  oh: number; ow: number;
}

/** Calls `visit(o, y0, y1, x0, x1, plane)` for each output o with its window clipped to the input plane. */
function eachWindow(g: PoolGeometry, visit: (o: number, y0: number, y1: number, x0: number, x1: number, plane: number) => void): void {
  const planes = g.n * g.c;
  for (let p = 0, o = 0; p < planes; p++) {
    const plane = p * g.h * g.w;
    for (let oy = 0; oy < g.oh; oy++) {
      const top = oy * g.sh - g.ph, y0 = Math.max(0, top), y1 = Math.min(g.h, top + g.kh);
      for (let ox = 0; ox < g.ow; ox++, o++) {
        const left = ox * g.sw - g.pw;
        visit(o, y0, y1, Math.max(0, left), Math.min(g.w, left + g.kw), plane);
      }
    }
  }
}

/** The max of each window and the flat index into x of its first maximum (a NaN wins, so it propagates). */
export function maxPool2d(x: NdArray, g: PoolGeometry): { values: NdArray; argmax: Int32Array } {
  const X = flat(x), size = g.n * g.c * g.oh * g.ow;
  const out = allocate(dtypeOf(X), size), argmax = new Int32Array(size);
  eachWindow(g, (o, y0, y1, x0, x1, plane) => {
    let best = -Infinity, at = plane + y0 * g.w + x0;
    search: for (let y = y0; y < y1; y++) {
      for (let i = plane + y * g.w + x0, end = plane + y * g.w + x1; i < end; i++) {
        const v = X[i];
        if (v > best) { best = v; at = i; }
        else if (v !== v) { best = v; at = i; break search; }
      }
    }
    out[o] = best;
    argmax[o] = at;
  });
  return { values: ndarray(out, [g.n, g.c, g.oh, g.ow]), argmax };
}

/** An array of `shape` (size `size`) of zeros plus each v[o] added at index[o]: the adjoint of picking x at index. */
export function scatterAddAt(v: NdArray, index: Int32Array, shape: readonly number[]): NdArray {
  const V = flat(v), size = shape.reduce((a, b) => a * b, 1), out = allocate(dtypeOf(V), size);
  for (let o = 0; o < index.length; o++) out[index[o]] += V[o];
  return ndarray(out, [...shape]);
}

/** x's values at the flat indices `index`, in an array of `shape`. */
export function gatherAt(x: NdArray, index: Int32Array, shape: readonly number[]): NdArray {
  const X = flat(x), out = allocate(dtypeOf(X), index.length);
  for (let o = 0; o < index.length; o++) out[o] = X[index[o]];
  return ndarray(out, [...shape]);
}

/** What each window's sum is divided by: the whole window (count_include_pad), or the input values in it. */
const divisor = (g: PoolGeometry, includePad: boolean, y0: number, y1: number, x0: number, x1: number) =>
  includePad ? g.kh * g.kw : (y1 - y0) * (x1 - x0);

/** The mean of each window. */
export function avgPool2d(x: NdArray, g: PoolGeometry, includePad: boolean): NdArray {
  const X = flat(x), out = allocate(dtypeOf(X), g.n * g.c * g.oh * g.ow);
  eachWindow(g, (o, y0, y1, x0, x1, plane) => {
    let s = 0;
    for (let y = y0; y < y1; y++) for (let i = plane + y * g.w + x0, end = plane + y * g.w + x1; i < end; i++) s += X[i];
    out[o] = s / divisor(g, includePad, y0, y1, x0, x1);
  });
  return ndarray(out, [g.n, g.c, g.oh, g.ow]);
}

/** The adjoint of avgPool2d: each gy[o] spread over its window, divided as the forward divided. */
export function avgPool2dBackward(gy: NdArray, g: PoolGeometry, includePad: boolean): NdArray {
  const G = flat(gy), dx = allocate(dtypeOf(G), g.n * g.c * g.h * g.w);
  eachWindow(g, (o, y0, y1, x0, x1, plane) => {
    const v = G[o] / divisor(g, includePad, y0, y1, x0, x1);
    for (let y = y0; y < y1; y++) for (let i = plane + y * g.w + x0, end = plane + y * g.w + x1; i < end; i++) dx[i] += v;
  });
  return ndarray(dx, [g.n, g.c, g.h, g.w]);
}
