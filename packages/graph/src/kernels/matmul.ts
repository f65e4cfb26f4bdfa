/** The matrix product: WebAssembly SIMD for float32 when built, and the TypeScript kernels. */
import ndarray from 'ndarray';
import { allocate, allocateF32, dtypeOf, inMemory, type Data } from './memory.ts';
import type { NdArray } from './arrays.ts';
import { float32Kernels } from './wasm.ts';

/**
 * C = A B for 2-D arrays of any strides (transposed views included). float32 goes to the
 * WebAssembly SIMD kernels when they are built (wasm.ts: the sparse-row kernel when under 30% of A
 * is non-zero), the rest, and float64, to `matmulTS`.
 *
 * In TypeScript, dense A: register-tiled, each 4x4 block of C accumulated in sixteen locals over the shared axis,
 * so that every value loaded from A or B feeds four multiply-adds; the steps where all four rows
 * of A are zero are dropped first. Sparse A (under 30% non-zero, like an MNIST batch): row by row
 * over its non-zeros only; so too when the shared axis is short (k <= 16, a gradient Hᵀ M at batch
 * 8), where tiles would spend more on setup than on sums. Both skip only exact zeros.
 */
export function matmul(a: NdArray, b: NdArray): NdArray {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const w = m * k * n < 4096 ? null : float32Kernels(a.data, b.data);
  const C = w && w.matmul(a, b, isSparse(a));
  return C ? ndarray(C, [m, n]) : matmulTS(a, b);
}

/**
 * `matmul`, but where it multiplies a sparse A row by row, the rows of C where A's row has no
 * non-zero are zero by that kernel's rule (it skips A's zeros, so 0 x NaN in B adds nothing) and
 * are left unwritten: `rows` lists the rows that were written, ascending, and the others hold
 * whatever the memory held until `zeroOtherRows` fills them. `rows` is null when every row was
 * written. For Aᵀ G with A an MNIST batch at batch 8, about half the rows are left unwritten.
 * Either way the written rows have the bits `matmul` gives.
 */
export function matmulRowSparse(a: NdArray, b: NdArray): { array: NdArray; rows: Int32Array | null } {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const w = m * k * n < 4096 ? null : float32Kernels(a.data, b.data);
  if (w) {
    const sparse = isSparse(a);
    const skipped = sparse ? w.matmulRows(a, b) : null;
    if (skipped) return { array: ndarray(skipped.C, [m, n]), rows: skipped.rows.length < m ? skipped.rows : null };
    const C = w.matmul(a, b, sparse);
    if (C) return { array: ndarray(C, [m, n]), rows: null };
  }
  if (!(b.stride[1] === 1 && (k <= 16 || isSparse(a)))) return { array: matmulTS(a, b, false), rows: null };
  const C = allocate(dtypeOf(a.data), m * n);
  const rows = matmulSparseRows(a, b, C);
  return { array: ndarray(C, [m, n]), rows: rows.length < m ? rows : null };
}

/**
 * tanh(A B + bias) in one WebAssembly kernel where `matmul` would multiply a sparse float32 A row by
 * row (an MNIST batch in a first layer) and n is a multiple of 4, for a float32 bias [n]: the bits of
 * `matmul`, then the bias add, then `tanh` (an evaluation's hidden layer), without A B or A B + bias
 * written and read back. Null where it does not apply: compute the three in turn.
 */
export function matmulAddTanh(a: NdArray, b: NdArray, bias: NdArray): NdArray | null {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const w = m * k * n < 4096 || !(bias.data instanceof Float32Array) ? null : float32Kernels(a.data, b.data);
  const C = w && isSparse(a) ? w.matmulAddTanh(a, b, bias) : null;
  return C ? ndarray(C, [m, n]) : null;
}

/**
 * A B left to compute later, where the WebAssembly kernels can then also add it to a weight without
 * writing it (`addScaledProduct`): for a sparse float32 A with short rows (k <= 64, non-negative
 * strides: Xᵀ in the first layer's weight gradient Xᵀ G at batch 8) and a row-major B, n a multiple
 * of 32. Returns C, allocated but not written, and copies of A and B in the JavaScript heap (the
 * caller owns them: they outlive the operands' scope, and in-place writes to the operands do not
 * reach them); `productRowsInto` computes C from them. Null where that does not apply: compute now.
 */
export function deferredProduct(a: NdArray, b: NdArray): { C: NdArray; a: NdArray; b: NdArray } | null {
  const [m, k] = a.shape,
    n = b.shape[1],
    [as0, as1] = a.stride;
  if (k > 64 || n % 32 !== 0 || m * k * n < 4096 || as0 < 0 || as1 < 0 || b.stride[0] !== n || b.stride[1] !== 1) return null;
  if (!float32Kernels(a.data, b.data) || !isSparse(a)) return null;
  const C = allocateF32(m * n, false);
  if (!inMemory(C)) return null;
  const span = 1 + (m - 1) * as0 + (k - 1) * as1;
  return {
    C: ndarray(C, [m, n]),
    a: ndarray(a.data.slice(a.offset, a.offset + span), [m, k], [as0, as1], 0),
    b: ndarray(b.data.slice(b.offset, b.offset + k * n), [k, n]),
  };
}

/**
 * Writes A B into the row-major C [m, n] with the bits `matmulRowSparse` gives, and returns the rows
 * of C it wrote (where A's row has a non-zero); the others are left as they were, for `zeroOtherRows`.
 */
export function productRowsInto(C: NdArray, a: NdArray, b: NdArray): Int32Array {
  const done = float32Kernels(a.data, b.data)?.matmulRows(a, b, C.data as Float32Array);
  if (done) return done.rows;
  C.data.fill(0); // the TypeScript kernel adds onto zeros
  return matmulSparseRows(a, b, C.data);
}

/**
 * w += alpha (A B) for a product `deferredProduct` left to compute, without computing it into
 * memory: the bits of `productRowsInto` followed by `addScaledRows` on its rows (the SGD step fused
 * with the weight gradient Xᵀ G). False, and nothing done, where the kernels cannot (then compute
 * the product and update from it).
 */
export function addScaledProduct(w: Data, a: NdArray, b: NdArray, alpha: number): boolean {
  return w instanceof Float32Array && inMemory(w) && (float32Kernels(a.data, b.data)?.addScaledProduct(w, a, b, alpha) ?? false);
}

/** Writes zeros in the rows of a row-major [m, n] array that are not in `rows` (ascending). */
export function zeroOtherRows(data: Data, rows: Int32Array, n: number): void {
  let from = 0;
  for (let r = 0; r < rows.length; r++) {
    data.fill(0, from * n, rows[r] * n);
    from = rows[r] + 1;
  }
  data.fill(0, from * n);
}

/** C = A B by the TypeScript kernels: the reference for the WebAssembly one, and the float64 path. */
export function matmulTS(a: NdArray, b: NdArray, sparse = b.stride[1] === 1 && (a.shape[1] <= 16 || isSparse(a))): NdArray {
  const m = a.shape[0];
  const n = b.shape[1];
  const C = allocate(dtypeOf(a.data), m * n);
  if (sparse) matmulSparseRows(a, b, C);
  else matmulTiled(a, b, C);
  return ndarray(C, [m, n]);
}

/**
 * Whether under 30% of a 2-D array's entries are non-zero. An array that covers its whole storage (a
 * batch, or its transpose) is counted over the storage by the SIMD kernel; otherwise the scan stops
 * once sparsity is ruled out. Only the choice of kernel depends on it: both give the same product.
 */
function isSparse(a: NdArray): boolean {
  const [m, k] = a.shape,
    [s0, s1] = a.stride,
    A = a.data;
  if (m * k === 0) return false;
  const w = a.size === A.length ? float32Kernels(A) : null;
  const counted = w && w.countNonzero(A as Float32Array);
  if (counted !== null) return counted < 0.3 * A.length;
  const most = 0.3 * m * k;
  let nonzero = 0;
  for (let i = 0; i < m; i++) {
    for (let p = 0, at = a.offset + i * s0; p < k; p++, at += s1) if (A[at] !== 0) nonzero++;
    if (nonzero >= most) return false;
  }
  return true;
}

/**
 * C = A B for a sparse A (an MNIST batch, or its transpose) and a B with contiguous rows: each row
 * of C is the sum of the rows of B picked by the non-zeros of A's row, four rows of B at a time.
 * The work is proportional to the non-zeros of A, exactly. A row of A with no non-zero leaves C's
 * row as it was (C starts at zero); returns the rows of C written, ascending.
 */
function matmulSparseRows(a: NdArray, b: NdArray, C: Data): Int32Array {
  const [m, k] = a.shape,
    n = b.shape[1];
  const A = a.data,
    B = b.data,
    [as0, as1] = a.stride,
    bs0 = b.stride[0];
  const rows = new Int32Array(k),
    coef = new Float64Array(k),
    written = new Int32Array(m);
  let count = 0;
  for (let i = 0; i < m; i++) {
    let q = 0;
    for (let p = 0, at = a.offset + i * as0; p < k; p++, at += as1) {
      if (A[at] !== 0) {
        rows[q] = b.offset + p * bs0;
        coef[q++] = A[at];
      }
    }
    if (q > 0) written[count++] = i;
    const c = i * n;
    // The first pass writes C's row (it starts at zero); the later ones add, four rows of B each.
    const first = q % 4 === 0 ? Math.min(q, 4) : q % 4;
    const a0 = coef[0],
      a1 = coef[1],
      a2 = coef[2],
      a3 = coef[3],
      r0 = rows[0],
      r1 = rows[1],
      r2 = rows[2],
      r3 = rows[3];
    if (first === 1) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j];
    else if (first === 2) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j];
    else if (first === 3) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j] + a2 * B[r2 + j];
    else if (first === 4) for (let j = 0; j < n; j++) C[c + j] = a0 * B[r0 + j] + a1 * B[r1 + j] + a2 * B[r2 + j] + a3 * B[r3 + j];
    for (let t = first; t < q; t += 4) {
      const b0 = coef[t],
        b1 = coef[t + 1],
        b2 = coef[t + 2],
        b3 = coef[t + 3];
      const s0 = rows[t],
        s1 = rows[t + 1],
        s2 = rows[t + 2],
        s3 = rows[t + 3];
      for (let j = 0; j < n; j++) C[c + j] += b0 * B[s0 + j] + b1 * B[s1 + j] + b2 * B[s2 + j] + b3 * B[s3 + j];
    }
  }
  return written.subarray(0, count);
}

/** C = A B, dense: 4x4 register tiles (see `matmul`). */
function matmulTiled(a: NdArray, b: NdArray, C: Data): void {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const A = a.data,
    B = b.data;
  const [as0, as1] = a.stride;
  const [bs0, bs1] = b.stride;
  const steps = new Int32Array(k); // offsets p * as1 of the useful steps of this block of rows
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = a.offset + i * as0,
      r1 = r0 + as0,
      r2 = r1 + as0,
      r3 = r2 + as0;
    let used = 0;
    for (let p = 0, pa = 0; p < k; p++, pa += as1) {
      if (A[r0 + pa] !== 0 || A[r1 + pa] !== 0 || A[r2 + pa] !== 0 || A[r3 + pa] !== 0) steps[used++] = p;
    }
    if (used === 0) continue; // these rows of C stay zero
    const c0 = i * n,
      c1 = c0 + n,
      c2 = c1 + n,
      c3 = c2 + n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let x00 = 0,
        x01 = 0,
        x02 = 0,
        x03 = 0,
        x10 = 0,
        x11 = 0,
        x12 = 0,
        x13 = 0;
      let x20 = 0,
        x21 = 0,
        x22 = 0,
        x23 = 0,
        x30 = 0,
        x31 = 0,
        x32 = 0,
        x33 = 0;
      const bj = b.offset + j * bs1;
      for (let q = 0; q < used; q++) {
        const p = steps[q],
          pa = p * as1,
          pb = bj + p * bs0;
        const a0 = A[r0 + pa],
          a1 = A[r1 + pa],
          a2 = A[r2 + pa],
          a3 = A[r3 + pa];
        const b0 = B[pb],
          b1 = B[pb + bs1],
          b2 = B[pb + 2 * bs1],
          b3 = B[pb + 3 * bs1];
        x00 += a0 * b0;
        x01 += a0 * b1;
        x02 += a0 * b2;
        x03 += a0 * b3;
        x10 += a1 * b0;
        x11 += a1 * b1;
        x12 += a1 * b2;
        x13 += a1 * b3;
        x20 += a2 * b0;
        x21 += a2 * b1;
        x22 += a2 * b2;
        x23 += a2 * b3;
        x30 += a3 * b0;
        x31 += a3 * b1;
        x32 += a3 * b2;
        x33 += a3 * b3;
      }
      C[c0 + j] = x00;
      C[c0 + j + 1] = x01;
      C[c0 + j + 2] = x02;
      C[c0 + j + 3] = x03;
      C[c1 + j] = x10;
      C[c1 + j + 1] = x11;
      C[c1 + j + 2] = x12;
      C[c1 + j + 3] = x13;
      C[c2 + j] = x20;
      C[c2 + j + 1] = x21;
      C[c2 + j + 2] = x22;
      C[c2 + j + 3] = x23;
      C[c3 + j] = x30;
      C[c3 + j + 1] = x31;
      C[c3 + j + 2] = x32;
      C[c3 + j + 3] = x33;
    }
    for (; j < n; j++) {
      let x0 = 0,
        x1 = 0,
        x2 = 0,
        x3 = 0;
      const bj = b.offset + j * bs1;
      for (let q = 0; q < used; q++) {
        const p = steps[q],
          pa = p * as1,
          bv = B[bj + p * bs0];
        x0 += A[r0 + pa] * bv;
        x1 += A[r1 + pa] * bv;
        x2 += A[r2 + pa] * bv;
        x3 += A[r3 + pa] * bv;
      }
      C[c0 + j] = x0;
      C[c1 + j] = x1;
      C[c2 + j] = x2;
      C[c3 + j] = x3;
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
