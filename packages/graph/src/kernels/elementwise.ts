/** Elementwise kernels: maps over one, two or three arrays, tanh and its gradient, the bias add, and the in-place update of SGD. */
import ndarray from 'ndarray';
import { allocate, dtypeOf, inMemory, type Data } from './memory.ts';
import type { NdArray, Shape } from './arrays.ts';
import { broadcastView, flat, isContiguous, sameShape } from './arrays.ts';
import { float32Kernels } from './wasm.ts';

/** A kernel's flat result in `shape`, or null (the kernel did not run). */
const shaped = (out: Data | null, shape: Shape): NdArray | null => (out ? ndarray(out, shape.slice()) : null);

/** `f` applied to every element. */
export function map(a: NdArray, f: (x: number) => number): NdArray {
  const x = flat(a);
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return ndarray(out, a.shape.slice());
}

/** tanh elementwise: float32 by the WebAssembly SIMD kernel when it can, else Math.tanh. */
export function tanh(a: NdArray): NdArray {
  const x = flat(a),
    w = float32Kernels(x);
  return (w && shaped(w.tanh(x as Float32Array), a.shape)) ?? map(a, Math.tanh);
}

/** d tanh from its output: g (1 - y²), by the WebAssembly SIMD kernel for float32 when it can. */
export function tanhGrad(g: NdArray, y: NdArray): NdArray {
  const G = flat(g),
    Y = flat(y),
    w = float32Kernels(G, Y);
  return (w && shaped(w.tanhGrad(G as Float32Array, Y as Float32Array), g.shape)) ?? zip3(g, g, y, (gv, _, yv) => gv * (1 - yv * yv));
}

/** max(x, 0) elementwise as `x > 0 ? x : 0` (NaN and -0 give +0): float32 by the WebAssembly SIMD kernel when it can. */
export function relu(a: NdArray): NdArray {
  const x = flat(a),
    w = float32Kernels(x);
  return (w && shaped(w.relu(x as Float32Array), a.shape)) ?? map(a, (v) => (v > 0 ? v : 0));
}

/**
 * The gradient through ReLU from its input x: g · (x > 0 ? 1 : 0) in one pass (a product with the
 * 0/1 mask, not a select, so that an infinite g where x <= 0 still gives NaN); the SIMD kernel for float32.
 */
export function reluGrad(g: NdArray, x: NdArray): NdArray {
  const G = flat(g),
    X = flat(x),
    w = float32Kernels(G, X);
  return (w && shaped(w.reluGrad(G as Float32Array, X as Float32Array), g.shape)) ?? zip3(g, x, x, (gv, xv) => gv * (xv > 0 ? 1 : 0));
}

/** a + b broadcast to `shape`; a matrix plus a row (a bias) by the WebAssembly SIMD kernel for float32 when it can. */
export function add(a: NdArray, b: NdArray, shape: Shape): NdArray {
  // A matrix plus a row, either way round.
  const [M, R] = b.shape.length === 1 && sameShape(a.shape, shape) ? [a, b] : a.shape.length === 1 && sameShape(b.shape, shape) ? [b, a] : [null, null];
  const w = shape.length === 2 && M && R && R.shape[0] === shape[1] ? float32Kernels(a.data, b.data) : null;
  return (w && shaped(w.addRow(M!, R!), shape)) ?? zip(a, b, shape, (x, y) => x + y);
}

/** `f` applied elementwise to two arrays broadcast to `shape`. */
export function zip(a: NdArray, b: NdArray, shape: Shape, f: (x: number, y: number) => number): NdArray {
  const A = sameShape(a.shape, shape) ? a : broadcastView(a, shape);
  const B = sameShape(b.shape, shape) ? b : broadcastView(b, shape);
  if (shape.length === 2 && !(isContiguous(A) && isContiguous(B))) {
    // Walk the (broadcast) strides: a bias row is read in place, not copied out to [m, n] first.
    const [m, n] = shape,
      out = allocate(dtypeOf(a.data), m * n);
    const x = A.data,
      y = B.data,
      [a0, a1] = A.stride,
      [b0, b1] = B.stride;
    for (let i = 0, k = 0; i < m; i++) {
      for (let j = 0, pa = A.offset + i * a0, pb = B.offset + i * b0; j < n; j++, pa += a1, pb += b1) out[k++] = f(x[pa], y[pb]);
    }
    return ndarray(out, [...shape]);
  }
  const x = flat(A),
    y = flat(B);
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i]);
  return ndarray(out, [...shape]);
}

/** `f` applied elementwise to three arrays of one shape (a backward rule's g, x and y, say). */
export function zip3(a: NdArray, b: NdArray, c: NdArray, f: (x: number, y: number, z: number) => number): NdArray {
  const x = flat(a),
    y = flat(b),
    z = flat(c);
  const out = allocate(dtypeOf(a.data), x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i], z[i]);
  return ndarray(out, a.shape.slice());
}

/**
 * w += alpha g in place, for flat arrays of one length. Runs of 32 zeros in g are skipped without
 * touching w (exact): with MNIST, half the rows of the first layer's gradient are zero.
 */
export function addScaled(w: Data, g: Data, alpha: number): void {
  if (float32Kernels(w, g)?.addScaled(w as Float32Array, g as Float32Array, alpha)) return;
  addScaledRange(w, g, 0, w.length, alpha);
}

/**
 * `addScaled` on rows `rows` (ascending) of row-major w and g with n columns, reading and writing
 * nothing else: the same bits as `addScaled` over the whole arrays when g's other rows are zero,
 * because the blocks that kernel skips or updates then fall within rows (n a multiple of 16 for
 * the WebAssembly kernel, of 32 for the TypeScript loop), and it skips all-zero blocks. False, and
 * nothing done, for another n: the caller runs `addScaled` on the whole (zeroed) gradient.
 */
export function addScaledRows(w: Data, g: Data, rows: Int32Array, n: number, alpha: number): boolean {
  const wasm = float32Kernels(w, g);
  if (wasm && inMemory(w) && inMemory(g) && w.length === g.length) return wasm.addScaledRows(w as Float32Array, g as Float32Array, rows, n, alpha);
  if (n % 32 !== 0 || w.length !== g.length || (rows.length > 0 && (rows[rows.length - 1] + 1) * n > w.length)) return false;
  for (let r = 0; r < rows.length; r++) addScaledRange(w, g, rows[r] * n, rows[r] * n + n, alpha);
  return true;
}

/** w += alpha g over [from, to) in blocks of 32 from `from`, each block's leading zeros of g skipped (w untouched there). */
function addScaledRange(w: Data, g: Data, from: number, to: number, alpha: number): void {
  for (let start = from; start < to; start += 32) {
    const end = Math.min(start + 32, to);
    let j = start;
    while (j < end && g[j] === 0) j++;
    for (; j < end; j++) w[j] += alpha * g[j];
  }
}
