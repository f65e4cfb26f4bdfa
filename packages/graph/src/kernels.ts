/**
 * The hot loops: matrix product, elementwise maps, broadcasting and reductions.
 *
 * This is the only module that touches `ndarray` internals (data, strides, offsets): ops and the
 * tape see tensors. Kernels return contiguous row-major arrays (fresh ones, but for `reshape` and
 * `sumToShape`, which may hand back their input's data), so a faster kernel can replace one here
 * without touching an op.
 */
import ndarray from 'ndarray';
import { allocate, contiguous, dtypeOf, type Data, type DType, type NdArray, type Shape } from './tensor.ts';
import { wasm } from './wasm.ts';

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
  const A = a.shape.join() === shape.join() ? a : broadcastView(a, shape);
  const B = b.shape.join() === shape.join() ? b : broadcastView(b, shape);
  if (shape.length === 2 && !(isContiguous(A) && isContiguous(B))) {
    // Walk the (broadcast) strides: a bias row is read in place, not copied out to [m, n] first.
    const [m, n] = shape, out = allocate(dtypeOf(a.data), m * n);
    const x = A.data, y = B.data, [a0, a1] = A.stride, [b0, b1] = B.stride;
    for (let i = 0, k = 0; i < m; i++) {
      for (let j = 0, pa = A.offset + i * a0, pb = B.offset + i * b0; j < n; j++, pa += a1, pb += b1) out[k++] = f(x[pa], y[pb]);
    }
    return ndarray(out, [...shape]);
  }
  const x = flat(A), y = flat(B);
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
 * C = A B for 2-D arrays of any strides (transposed views included).
 *
 * Dense A: register-tiled, each 4x4 block of C accumulated in sixteen locals over the shared axis,
 * so that every value loaded from A or B feeds four multiply-adds; the steps where all four rows
 * of A are zero are dropped first. Sparse A (under 30% non-zero, like an MNIST batch): row by row
 * over its non-zeros only; so too when the shared axis is short (k <= 16, a gradient Hᵀ M at batch
 * 8), where tiles would spend more on setup than on sums. Both skip only exact zeros.
 */
export function matmul(a: NdArray, b: NdArray): NdArray {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const sparse = b.stride[1] === 1 && density(a) < 0.3;
  if (wasm && !(sparse && m < 64) && a.data instanceof Float32Array && b.data instanceof Float32Array && m * k * n >= 4096) {
    // SIMD, when the compiled module is there. Not for a few sparse rows (a small MNIST batch
    // times the first layer): skipping their zeros in place beats copying 2.5 MB of weights in.
    return ndarray(wasm.matmul(a, b), [m, n]);
  }
  return matmulTS(a, b, sparse);
}

/** C = A B by the TypeScript kernels: the reference for the WebAssembly one, and the float64 path. */
export function matmulTS(a: NdArray, b: NdArray, sparse = b.stride[1] === 1 && density(a) < 0.3): NdArray {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const C = allocate(dtypeOf(a.data), m * n);
  if (sparse || (b.stride[1] === 1 && k <= 16)) matmulSparseRows(a, b, C);
  else matmulTiled(a, b, C);
  return ndarray(C, [m, n]);
}

/** The fraction of non-zero entries of a 2-D array. */
function density(a: NdArray): number {
  const [m, k] = a.shape, [s0, s1] = a.stride, A = a.data;
  let nonzero = 0;
  for (let i = 0; i < m; i++) for (let p = 0, at = a.offset + i * s0; p < k; p++, at += s1) if (A[at] !== 0) nonzero++;
  return nonzero / Math.max(1, m * k);
}

/**
 * C = A B for a sparse A (an MNIST batch, or its transpose) and a B with contiguous rows: each row
 * of C is the sum of the rows of B picked by the non-zeros of A's row, four rows of B at a time.
 * The work is proportional to the non-zeros of A, exactly.
 */
function matmulSparseRows(a: NdArray, b: NdArray, C: Data): void {
  const [m, k] = a.shape, n = b.shape[1];
  const A = a.data, B = b.data, [as0, as1] = a.stride, bs0 = b.stride[0];
  const rows = new Int32Array(k), coef = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    let q = 0;
    for (let p = 0, at = a.offset + i * as0; p < k; p++, at += as1) {
      if (A[at] !== 0) { rows[q] = b.offset + p * bs0; coef[q++] = A[at]; }
    }
    const c = i * n;
    // The first pass writes C's row (it starts at zero); the later ones add, four rows of B each.
    const first = q % 4 === 0 ? Math.min(q, 4) : q % 4;
    const a0 = coef[0], a1 = coef[1], a2 = coef[2], a3 = coef[3], r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3];
    if (first === 1) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j];
    else if (first === 2) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j];
    else if (first === 3) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j] + a2 * B[r2 + j];
    else if (first === 4) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j] + a2 * B[r2 + j] + a3 * B[r3 + j];
    for (let t = first; t < q; t += 4) {
      const b0 = coef[t], b1 = coef[t + 1], b2 = coef[t + 2], b3 = coef[t + 3];
      const s0 = rows[t], s1 = rows[t + 1], s2 = rows[t + 2], s3 = rows[t + 3];
      for (let j = 0; j < n; j++) C[c + j] += b0 * B[s0 + j] + b1 * B[s1 + j] + b2 * B[s2 + j] + b3 * B[s3 + j];
    }
  }
}

/** C = A B, dense: 4x4 register tiles (see `matmul`). */
function matmulTiled(a: NdArray, b: NdArray, C: Data): void {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const A = a.data, B = b.data;
  const [as0, as1] = a.stride;
  const [bs0, bs1] = b.stride;
  const steps = new Int32Array(k); // offsets p * as1 of the useful steps of this block of rows
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = a.offset + i * as0, r1 = r0 + as0, r2 = r1 + as0, r3 = r2 + as0;
    let used = 0;
    for (let p = 0, pa = 0; p < k; p++, pa += as1) {
      if (A[r0 + pa] !== 0 || A[r1 + pa] !== 0 || A[r2 + pa] !== 0 || A[r3 + pa] !== 0) steps[used++] = p;
    }
    if (used === 0) continue; // these rows of C stay zero
    const c0 = i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let x00 = 0, x01 = 0, x02 = 0, x03 = 0, x10 = 0, x11 = 0, x12 = 0, x13 = 0;
      let x20 = 0, x21 = 0, x22 = 0, x23 = 0, x30 = 0, x31 = 0, x32 = 0, x33 = 0;
      const bj = b.offset + j * bs1;
      for (let q = 0; q < used; q++) {
        const p = steps[q], pa = p * as1, pb = bj + p * bs0;
        const a0 = A[r0 + pa], a1 = A[r1 + pa], a2 = A[r2 + pa], a3 = A[r3 + pa];
        const b0 = B[pb], b1 = B[pb + bs1], b2 = B[pb + 2 * bs1], b3 = B[pb + 3 * bs1];
        x00 += a0 * b0; x01 += a0 * b1; x02 += a0 * b2; x03 += a0 * b3;
        x10 += a1 * b0; x11 += a1 * b1; x12 += a1 * b2; x13 += a1 * b3;
        x20 += a2 * b0; x21 += a2 * b1; x22 += a2 * b2; x23 += a2 * b3;
        x30 += a3 * b0; x31 += a3 * b1; x32 += a3 * b2; x33 += a3 * b3;
      }
      C[c0 + j] = x00; C[c0 + j + 1] = x01; C[c0 + j + 2] = x02; C[c0 + j + 3] = x03;
      C[c1 + j] = x10; C[c1 + j + 1] = x11; C[c1 + j + 2] = x12; C[c1 + j + 3] = x13;
      C[c2 + j] = x20; C[c2 + j + 1] = x21; C[c2 + j + 2] = x22; C[c2 + j + 3] = x23;
      C[c3 + j] = x30; C[c3 + j + 1] = x31; C[c3 + j + 2] = x32; C[c3 + j + 3] = x33;
    }
    for (; j < n; j++) {
      let x0 = 0, x1 = 0, x2 = 0, x3 = 0;
      const bj = b.offset + j * bs1;
      for (let q = 0; q < used; q++) {
        const p = steps[q], pa = p * as1, bv = B[bj + p * bs0];
        x0 += A[r0 + pa] * bv; x1 += A[r1 + pa] * bv; x2 += A[r2 + pa] * bv; x3 += A[r3 + pa] * bv;
      }
      C[c0 + j] = x0; C[c1 + j] = x1; C[c2 + j] = x2; C[c3 + j] = x3;
    }
  }
  for (; i < m; i++) {
    const r = a.offset + i * as0;
    for (let j = 0; j < n; j++) {
      let x = 0;
      const bj = b.offset + j * bs1;
      for (let p = 0; p < k; p++) x += A[r + p * as1] * B[bj + p * bs0];
      C[i * n + j] = x;
    }
  }
}

/**
 * w += alpha g in place, for flat arrays of one length. Runs of 32 zeros in g are skipped without
 * touching w (exact): with MNIST, half the rows of the first layer's gradient are zero.
 */
export function addScaled(w: Data, g: Data, alpha: number): void {
  const n = w.length;
  for (let start = 0; start < n; start += 32) {
    const end = Math.min(start + 32, n);
    let j = start;
    while (j < end && g[j] === 0) j++;
    for (; j < end; j++) w[j] += alpha * g[j];
  }
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
  if (isContiguous(a)) {
    // In place: out[o, j] = sum over l of a[o, l, j], with `inner` contiguous values per step.
    const outer = sizeOf(a.shape.slice(0, axis)), len = a.shape[axis], inner = sizeOf(a.shape.slice(axis + 1));
    const x = a.data, out = allocate(dtypeOf(x), outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        const src = (o * len + l) * inner, dst = o * inner;
        for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
      }
    }
    return ndarray(out, a.shape.filter((_, d) => d !== axis));
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
