// AssemblyScript: the float32 kernels (matrix products, tanh and its gradient, the bias add and
// its sums, the SGD update) on the linear memory tensors live in, with 128-bit SIMD. The install
// step (`pnpm build:wasm`) compiles it twice: build/kernels.wasm, and build/kernels-fma.wasm with
// relaxed SIMD's fused multiply-add. src/kernels falls back to its TypeScript kernels without them.

import { madd } from './madd';

/**
 * C[m,n] = A[m,k] B[k,n]; a, b, c are byte offsets. Each 4x8 block of C lives in eight f32x4
 * registers (XNNPACK's default block for WebAssembly on x86). A's entries are broadcast by
 * v128.load32_splat, a single load, where f32x4.splat of a loaded float is a load and a shuffle on
 * the pipes the multiply-adds need (15-19% slower). Larger blocks, or loops unrolled further, run
 * out of the 16 registers V8 has for v128 values and spill (measured: bench/dense.ts).
 */
export function matmul(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  const n8 = n & ~7;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>(i * k) * 4, a1 = a0 + <usize>k * 4, a2 = a1 + <usize>k * 4, a3 = a2 + <usize>k * 4;
    for (let j = 0; j < n8; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      // pointers stepped to an end, not an index (as in `combine`)
      const ks = <usize>k * 4, ns = <usize>n * 4;
      let pb = b + <usize>j * 4;
      for (let pa = a0, end = a0 + ks; pa < end; pa += 4, pb += ns) {
        const b0 = v128.load(pb), b1 = v128.load(pb, 16);
        const x0 = v128.load32_splat(pa), x1 = v128.load32_splat(pa + ks);
        const x2 = v128.load32_splat(pa + 2 * ks), x3 = v128.load32_splat(pa + 3 * ks);
        c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
        c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
        c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
        c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
      }
      const r = c + <usize>(i * n + j) * 4, s = <usize>n * 4;
      v128.store(r, c00); v128.store(r, c01, 16);
      v128.store(r + s, c10); v128.store(r + s, c11, 16);
      v128.store(r + 2 * s, c20); v128.store(r + 2 * s, c21, 16);
      v128.store(r + 3 * s, c30); v128.store(r + 3 * s, c31, 16);
    }
    let j = n8;
    if (j + 4 <= n) {
      // four more columns: one f32x4 register per row
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let p = 0; p < k; p++, pb += <usize>n * 4) {
        const b0 = v128.load(pb), q = <usize>p * 4;
        c0 = madd(v128.load32_splat(a0 + q), b0, c0);
        c1 = madd(v128.load32_splat(a1 + q), b0, c1);
        c2 = madd(v128.load32_splat(a2 + q), b0, c2);
        c3 = madd(v128.load32_splat(a3 + q), b0, c3);
      }
      const r = c + <usize>(i * n + j) * 4, s = <usize>n * 4;
      v128.store(r, c0); v128.store(r + s, c1); v128.store(r + 2 * s, c2); v128.store(r + 3 * s, c3);
      j += 4;
    }
    for (; j + 2 <= n; j += 2) rowsTail4(a0, b, c, i, j, k, n, true);
    if (j < n) rowsTail4(a0, b, c, i, j, k, n, false);
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) rowsTail(a, b, c, i, 1, j, k, n);
}

/**
 * C[i..i+4, j] (and column j + 1 where `two`) with `rowsTail`'s bits: each entry a float32 sum over p
 * in order, the product rounded, then the sum (no fused multiply-add in either build), but the four
 * rows in the lanes of one register, so that four chains of additions run at once (the last columns
 * of a product with n % 4 != 0: the output layer's H2 W3, n = 10).
 */
function rowsTail4(a0: usize, b: usize, c: usize, i: i32, j: i32, k: i32, n: i32, two: bool): void {
  const a1 = a0 + <usize>k * 4, a2 = a1 + <usize>k * 4, a3 = a2 + <usize>k * 4;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let pb = b + <usize>j * 4;
  for (let p = 0; p < k; p++, pb += <usize>n * 4) {
    const q = <usize>p * 4;
    let x = f32x4.splat(load<f32>(a0 + q));
    x = f32x4.replace_lane(x, 1, load<f32>(a1 + q));
    x = f32x4.replace_lane(x, 2, load<f32>(a2 + q));
    x = f32x4.replace_lane(x, 3, load<f32>(a3 + q));
    s0 = f32x4.add(s0, f32x4.mul(x, v128.load32_splat(pb)));
    if (two) s1 = f32x4.add(s1, f32x4.mul(x, v128.load32_splat(pb, 4)));
  }
  const r = c + <usize>(i * n + j) * 4, s = <usize>n * 4;
  storeColumn(r, s, s0);
  if (two) storeColumn(r + 4, s, s1);
}

/** C[i..i+rows, j] one column at a time: the edges the blocks leave. */
function rowsTail(a: usize, b: usize, c: usize, i: i32, rows: i32, j: i32, k: i32, n: i32): void {
  for (let r = i; r < i + rows; r++) {
    let s: f32 = 0;
    for (let p = 0; p < k; p++) s += load<f32>(a + <usize>(r * k + p) * 4) * load<f32>(b + <usize>(p * n + j) * 4);
    store<f32>(c + <usize>(r * n + j) * 4, s);
  }
}

/**
 * C[m,n] = A[m,k] Bᵀ for B stored [n,k] (a transposed view): dot products along k, four lanes at a
 * time, for blocks of four rows of A and two rows of B (eight f32x4 accumulators: each load feeds
 * two or four multiply-adds).
 */
export function matmulBT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  matmulBTCols(a, b, c, m, k, n, 0, n);
}

/**
 * Columns [j0, j1) of matmulBT's C, row stride n: each entry is summed as the whole call sums it
 * (four lanes along k, then the lanes, then k's tail: `dot`'s order, in a pair of columns or
 * alone), so parts split by columns give its bits. Parts start at even columns, keeping pairs whole.
 */
export function matmulBTCols(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, j0: i32, j1: i32): void {
  const k4 = k & ~3;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>(i * k) * 4, a1 = a0 + <usize>k * 4, a2 = a1 + <usize>k * 4, a3 = a2 + <usize>k * 4;
    let j = j0;
    for (; j + 2 <= j1; j += 2) {
      const b0 = b + <usize>(j * k) * 4, b1 = b0 + <usize>k * 4;
      let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
      let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const q = <usize>p * 4;
        const v0 = v128.load(b0 + q), v1 = v128.load(b1 + q);
        const u0 = v128.load(a0 + q), u1 = v128.load(a1 + q), u2 = v128.load(a2 + q), u3 = v128.load(a3 + q);
        x00 = madd(u0, v0, x00); x01 = madd(u0, v1, x01);
        x10 = madd(u1, v0, x10); x11 = madd(u1, v1, x11);
        x20 = madd(u2, v0, x20); x21 = madd(u2, v1, x21);
        x30 = madd(u3, v0, x30); x31 = madd(u3, v1, x31);
      }
      // lanes(x) + tailDot for the four rows at once, lane r for row i + r (the same operations in
      // the same order: the dot products of a short k, the output layer's G3 W3ᵀ at k = 10, spent
      // most of their time here one lane at a time)
      const r = c + <usize>(i * n + j) * 4, s = <usize>n * 4;
      storeColumn(r, s, f32x4.add(lanes4(x00, x10, x20, x30), tailDot4(a0, a1, a2, a3, b0, k4, k)));
      storeColumn(r + 4, s, f32x4.add(lanes4(x01, x11, x21, x31), tailDot4(a0, a1, a2, a3, b1, k4, k)));
    }
    for (; j < j1; j++) for (let r = i; r < i + 4; r++) store<f32>(c + <usize>(r * n + j) * 4, dot(a + <usize>(r * k) * 4, b + <usize>(j * k) * 4, k));
  }
  for (; i < m; i++) for (let j = j0; j < j1; j++) store<f32>(c + <usize>(i * n + j) * 4, dot(a + <usize>(i * k) * 4, b + <usize>(j * k) * 4, k));
}

/**
 * matmulBTCols for an A whose rows are read across samples: a convolution's upstream gradient as it
 * is stored, [samples, F, P], row i (a filter) being its P values of each sample in turn (row
 * stride P, sample stride `S` values), so k = samples · P. P a multiple of 4: every four-lane load
 * stays within a sample, and each entry is summed in matmulBTCols's order over the copied rows
 * (four lanes along k, then the lanes; k's tail is empty).
 */
export function matmulBTColsSamples(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, j0: i32, j1: i32, P: i32, S: i32): void {
  const row = <usize>P * 4, sample = <usize>S * 4;
  // rows in blocks of four, as matmulBTCols takes the copy (padded with zero rows to a multiple of
  // 4): a block's missing rows read its first row again and are not stored, so that every entry
  // comes from the code that computed it from the copy (the plain build's NaN keeps its sign only so)
  for (let i = 0; i < m; i += 4) {
    const a0 = a + <usize>i * row, a1 = i + 1 < m ? a0 + row : a0, a2 = i + 2 < m ? a0 + 2 * row : a0, a3 = i + 3 < m ? a0 + 3 * row : a0;
    const rows = min(m - i, 4);
    let j = j0;
    for (; j + 2 <= j1; j += 2) {
      const b0 = b + <usize>(j * k) * 4, b1 = b0 + <usize>k * 4;
      let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
      let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
      for (let p = 0, at: usize = 0; p < k; p += P, at += sample) {
        for (let pp = 0; pp < P; pp += 4) {
          const q = <usize>(p + pp) * 4, r = at + <usize>pp * 4;
          const v0 = v128.load(b0 + q), v1 = v128.load(b1 + q);
          const u0 = v128.load(a0 + r), u1 = v128.load(a1 + r), u2 = v128.load(a2 + r), u3 = v128.load(a3 + r);
          x00 = madd(u0, v0, x00); x01 = madd(u0, v1, x01);
          x10 = madd(u1, v0, x10); x11 = madd(u1, v1, x11);
          x20 = madd(u2, v0, x20); x21 = madd(u2, v1, x21);
          x30 = madd(u3, v0, x30); x31 = madd(u3, v1, x31);
        }
      }
      const r = c + <usize>(i * n + j) * 4, s = <usize>n * 4;
      store<f32>(r, lanes(x00) + tailDot(a0, b0, k, k)); store<f32>(r + 4, lanes(x01) + tailDot(a0, b1, k, k));
      if (rows > 1) { store<f32>(r + s, lanes(x10) + tailDot(a1, b0, k, k)); store<f32>(r + s + 4, lanes(x11) + tailDot(a1, b1, k, k)); }
      if (rows > 2) { store<f32>(r + 2 * s, lanes(x20) + tailDot(a2, b0, k, k)); store<f32>(r + 2 * s + 4, lanes(x21) + tailDot(a2, b1, k, k)); }
      if (rows > 3) { store<f32>(r + 3 * s, lanes(x30) + tailDot(a3, b0, k, k)); store<f32>(r + 3 * s + 4, lanes(x31) + tailDot(a3, b1, k, k)); }
    }
    for (; j < j1; j++) for (let r = i; r < i + rows; r++) store<f32>(c + <usize>(r * n + j) * 4, dotSamples(a + <usize>r * row, b + <usize>(j * k) * 4, k, P, sample));
  }
}

/** `dot` of a row read across samples (matmulBTColsSamples) and a row of length k: the same sums in the same order. */
function dotSamples(u: usize, v: usize, k: i32, P: i32, sample: usize): f32 {
  let acc = f32x4.splat(0);
  for (let p = 0, at: usize = 0; p < k; p += P, at += sample) {
    for (let pp = 0; pp < P; pp += 4) acc = madd(v128.load(u + at + <usize>pp * 4), v128.load(v + <usize>(p + pp) * 4), acc);
  }
  return lanes(acc) + tailDot(u, v, k, k);
}

/** The sum of the four lanes. */
@inline function lanes(x: v128): f32 {
  return f32x4.extract_lane(x, 0) + f32x4.extract_lane(x, 1) + f32x4.extract_lane(x, 2) + f32x4.extract_lane(x, 3);
}

/** Lane r: `lanes(x_r)`, ((l0 + l1) + l2) + l3 of x_r's lanes: a 4x4 transpose, then three additions for the four sums. */
@inline function lanes4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
  const l0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), l1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
  const l2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), l3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(f32x4.add(l0, l1), l2), l3);
}

/** Lane r: `tailDot(u_r, v, from, to)` (from 0, each product rounded, then the sum). */
@inline function tailDot4(u0: usize, u1: usize, u2: usize, u3: usize, v: usize, from: i32, to: i32): v128 {
  let s = f32x4.splat(0);
  for (let p = from; p < to; p++) {
    const q = <usize>p * 4;
    let u = f32x4.splat(load<f32>(u0 + q));
    u = f32x4.replace_lane(u, 1, load<f32>(u1 + q));
    u = f32x4.replace_lane(u, 2, load<f32>(u2 + q));
    u = f32x4.replace_lane(u, 3, load<f32>(u3 + q));
    s = f32x4.add(s, f32x4.mul(u, v128.load32_splat(v + q)));
  }
  return s;
}

/** Lane r of x to r + r s: four entries of a column of C (row stride s bytes). */
@inline function storeColumn(r: usize, s: usize, x: v128): void {
  store<f32>(r, f32x4.extract_lane(x, 0));
  store<f32>(r + s, f32x4.extract_lane(x, 1));
  store<f32>(r + 2 * s, f32x4.extract_lane(x, 2));
  store<f32>(r + 3 * s, f32x4.extract_lane(x, 3));
}

/** sum of u[p] v[p] for p in [from, to). */
@inline function tailDot(u: usize, v: usize, from: i32, to: i32): f32 {
  let s: f32 = 0;
  for (let p = from; p < to; p++) s += load<f32>(u + <usize>p * 4) * load<f32>(v + <usize>p * 4);
  return s;
}

/** The dot product of two rows of length k. */
function dot(u: usize, v: usize, k: i32): f32 {
  const k4 = k & ~3;
  let acc = f32x4.splat(0);
  for (let p = 0; p < k4; p += 4) acc = madd(v128.load(u + <usize>p * 4), v128.load(v + <usize>p * 4), acc);
  return lanes(acc) + tailDot(u, v, k4, k);
}

/**
 * C[m,n] = A[m,k] B[k,n] row by row, each row of C the sum of the rows of B picked by the non-zeros
 * of A's row: exact zeros of A cost nothing. A has any strides (in elements: `as0`, `as1`), so it
 * can be a transposed view (Xᵀ, Hᵀ); B is row-major. For a sparse A (an MNIST batch, or its
 * transpose in the weights' gradient). Rows go in groups of `group`, one 28-column block
 * at a time for the whole group, so that each block of the rows of B the group picks is read from
 * memory once and then from cache. `scratch` holds group (4 + 8k) + 16 bytes: each row of the group,
 * compacted.
 *
 * A row of A with no non-zero gives a row of zeros.
 */
export function combineRows(a: usize, as0: i32, as1: i32, b: usize, c: usize, m: i32, k: i32, n: i32, group: i32, scratch: usize): void {
  combine(a, as0, as1, b, c, m, k, n, group, scratch, 0, false, 0, false);
}

/**
 * C = tanh(A B + bias) for `combineRows`'s A and B, n a multiple of 4, bias [n] (a hidden layer's
 * forward in evaluation): each block of a row's sums goes through the bias add of `addRow` and the
 * formula of `tanh` before it is stored, so C has the bits of those three kernels in turn without
 * A B and A B + bias written and read back.
 */
export function combineRowsTanh(a: usize, as0: i32, as1: i32, b: usize, c: usize, m: i32, k: i32, n: i32, group: i32, scratch: usize, bias: usize): void {
  combine(a, as0, as1, b, c, m, k, n, group, scratch, 0, false, bias, true);
}

/**
 * `combineRows`, but the rows of C where A's row has no non-zero are left unwritten (the caller
 * knows they are zero), and the indices of the rows written go to `written`, ascending (up to m
 * int32s). Returns how many there are.
 */
export function combineRowsWritten(a: usize, as0: i32, as1: i32, b: usize, c: usize, m: i32, k: i32, n: i32, group: i32, scratch: usize, written: usize): i32 {
  return combine(a, as0, as1, b, c, m, k, n, group, scratch, written, true, 0, false);
}

/** The body of the three: inlined with `skip` and `withTanh` constants, so that each is compiled without the others' tests. */
@inline function combine(a: usize, as0: i32, as1: i32, b: usize, c: usize, m: i32, k: i32, n: i32, group: i32, scratch: usize, written: usize, skip: bool, bias: usize, withTanh: bool): i32 {
  let nonEmpty = 0;
  // per row of the group: its count, then up to k (row of B, coefficient) pairs
  const counts = scratch, lists = scratch + ((<usize>group * 4 + 15) & ~15);
  for (let i0 = 0; i0 < m; i0 += group) {
    const rows = min(group, m - i0);
    for (let r = 0; r < rows; r++) {
      const list = lists + <usize>(r * k) * 8;
      let q = 0;
      if (k > 64) {
        // a long row: each entry written, kept (q moves on) only if non-zero, with no branch to
        // mispredict; in a row of A in order, 16 entries whose bits are all 0 (+0: MNIST's zeros
        // come in runs) are passed over with one test, the entries they would not have kept
        let p = 0;
        if (as1 == 1) {
          const row = a + <usize>((i0 + r) * as0) * 4;
          for (; p + 16 <= k; p += 16) {
            const at = row + <usize>p * 4;
            if (!v128.any_true(v128.or(v128.or(v128.load(at), v128.load(at, 16)), v128.or(v128.load(at, 32), v128.load(at, 48))))) continue;
            for (let t = p; t < p + 16; t++) {
              const v = load<f32>(row + <usize>t * 4);
              store<u32>(list + <usize>q * 8, <u32>(b + <usize>(t * n) * 4));
              store<f32>(list + <usize>q * 8, v, 4);
              q += i32(v != 0);
            }
          }
        }
        for (; p < k; p++) {
          const v = load<f32>(a + <usize>((i0 + r) * as0 + p * as1) * 4);
          store<u32>(list + <usize>q * 8, <u32>(b + <usize>(p * n) * 4));
          store<f32>(list + <usize>q * 8, v, 4);
          q += i32(v != 0);
        }
      } else {
        for (let p = 0; p < k; p++) {
          const v = load<f32>(a + <usize>((i0 + r) * as0 + p * as1) * 4);
          if (v != 0) {
            store<u32>(list + <usize>q * 8, <u32>(b + <usize>(p * n) * 4));
            store<f32>(list + <usize>q * 8, v, 4);
            q++;
          }
        }
      }
      store<i32>(counts + <usize>r * 4, q);
      if (skip && q != 0) store<i32>(written + <usize>(nonEmpty++) * 4, i0 + r);
    }
    // Blocks of 28 columns: seven sums in registers, with the coefficient the 15 that V8 (11.3)
    // allocates without spilling; blocks of 32 kept one sum on the stack, a store and a load in
    // every step (0.91x the time for X W1 on MNIST batches of 1,000; bench/evaluation.ts). The
    // last block is moved back to end at n4: the columns it repeats get the same bits again.
    const n4 = n & ~3,
      wide = n4 >= 28 ? n4 : 0;
    for (let j0 = 0; j0 < wide; j0 += 28) {
      const off = <usize>min(j0, wide - 28) * 4;
      for (let r = 0; r < rows; r++) {
        const list = lists + <usize>(r * k) * 8, q = load<i32>(counts + <usize>r * 4);
        if (skip && q == 0) continue;
        let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
        let x4 = f32x4.splat(0), x5 = f32x4.splat(0), x6 = f32x4.splat(0);
        // a pointer stepped to an end, not an index: V8 then keeps the loop's integers in registers
        // rather than recomputing the entry's address every step (0.89x the CPU in the fused build,
        // 0.84x in the plain one, same bits: bench/kernel-builds.ts)
        for (let e = list, end = list + <usize>q * 8; e < end; e += 8) {
          const row = <usize>load<u32>(e) + off, s = v128.load32_splat(e, 4);
          x0 = madd(s, v128.load(row), x0);
          x1 = madd(s, v128.load(row, 16), x1);
          x2 = madd(s, v128.load(row, 32), x2);
          x3 = madd(s, v128.load(row, 48), x3);
          x4 = madd(s, v128.load(row, 64), x4);
          x5 = madd(s, v128.load(row, 80), x5);
          x6 = madd(s, v128.load(row, 96), x6);
        }
        const o = c + <usize>((i0 + r) * n) * 4 + off;
        if (withTanh) {
          const t = bias + off;
          x0 = addTanh4(x0, t); x1 = addTanh4(x1, t + 16); x2 = addTanh4(x2, t + 32); x3 = addTanh4(x3, t + 48);
          x4 = addTanh4(x4, t + 64); x5 = addTanh4(x5, t + 80); x6 = addTanh4(x6, t + 96);
        }
        v128.store(o, x0); v128.store(o, x1, 16); v128.store(o, x2, 32); v128.store(o, x3, 48);
        v128.store(o, x4, 64); v128.store(o, x5, 80); v128.store(o, x6, 96);
      }
    }
    for (let r = 0; r < rows; r++) {
      const list = lists + <usize>(r * k) * 8, q = load<i32>(counts + <usize>r * 4), cr = c + <usize>((i0 + r) * n) * 4;
      if (skip && q == 0) continue;
      for (let j = wide; j < n4; j += 4) {
        let x = f32x4.splat(0);
        const off = <usize>j * 4;
        for (let t = 0; t < q; t++) {
          const e = list + <usize>t * 8;
          x = madd(v128.load32_splat(e, 4), v128.load(<usize>load<u32>(e) + off), x);
        }
        v128.store(cr + off, withTanh ? addTanh4(x, bias + off) : x);
      }
      for (let j = n4; j < n; j++) {
        let x: f32 = 0;
        for (let t = 0; t < q; t++) {
          const e = list + <usize>t * 8;
          x += load<f32>(e, 4) * load<f32>(<usize>load<u32>(e) + <usize>j * 4);
        }
        store<f32>(cr + <usize>j * 4, x);
      }
    }
  }
  return nonEmpty;
}

/**
 * w += alpha (A B), with A B never written: the first layer's SGD step fused with its weight gradient
 * Xᵀ G (rowsparse.ts). A [m,k] has any strides and short rows (k <= 64: Xᵀ at batch 8), B [k,n] is
 * row-major, w [m,n] row-major, n a multiple of 32; `scratch` holds 8k + 16 bytes. Each 32-column
 * block of a row of A B is summed in registers exactly as `combineRowsWritten` sums it (the row's
 * non-zeros in order, group 1), then added to w exactly as `addScaled` adds g (a block of 16 all
 * zero leaves w untouched): the bits of that product followed by that update, without the product's
 * 4n bytes a row written and read back. Rows of A with no non-zero leave w's row untouched.
 */
export function combineRowsUpdate(a: usize, as0: i32, as1: i32, b: usize, w: usize, m: i32, k: i32, n: i32, scratch: usize, alpha: f32): void {
  const s = f32x4.splat(alpha), zero = f32x4.splat(0);
  for (let i = 0; i < m; i++) {
    let q = 0;
    for (let p = 0; p < k; p++) {
      const v = load<f32>(a + <usize>(i * as0 + p * as1) * 4);
      if (v != 0) {
        store<u32>(scratch + <usize>q * 8, <u32>(b + <usize>(p * n) * 4));
        store<f32>(scratch + <usize>q * 8, v, 4);
        q++;
      }
    }
    if (q == 0) continue;
    for (let j = 0; j < n; j += 32) {
      const off = <usize>j * 4;
      let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
      let x4 = f32x4.splat(0), x5 = f32x4.splat(0), x6 = f32x4.splat(0), x7 = f32x4.splat(0);
      for (let t = 0; t < q; t++) {
        const e = scratch + <usize>t * 8;
        const row = <usize>load<u32>(e) + off, c = v128.load32_splat(e, 4);
        x0 = madd(c, v128.load(row), x0);
        x1 = madd(c, v128.load(row, 16), x1);
        x2 = madd(c, v128.load(row, 32), x2);
        x3 = madd(c, v128.load(row, 48), x3);
        x4 = madd(c, v128.load(row, 64), x4);
        x5 = madd(c, v128.load(row, 80), x5);
        x6 = madd(c, v128.load(row, 96), x6);
        x7 = madd(c, v128.load(row, 112), x7);
      }
      const o = w + <usize>(i * n) * 4 + off;
      if (v128.any_true(v128.or(v128.or(f32x4.ne(x0, zero), f32x4.ne(x1, zero)), v128.or(f32x4.ne(x2, zero), f32x4.ne(x3, zero))))) {
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(s, x0)));
        v128.store(o, f32x4.add(v128.load(o, 16), f32x4.mul(s, x1)), 16);
        v128.store(o, f32x4.add(v128.load(o, 32), f32x4.mul(s, x2)), 32);
        v128.store(o, f32x4.add(v128.load(o, 48), f32x4.mul(s, x3)), 48);
      }
      if (v128.any_true(v128.or(v128.or(f32x4.ne(x4, zero), f32x4.ne(x5, zero)), v128.or(f32x4.ne(x6, zero), f32x4.ne(x7, zero))))) {
        v128.store(o, f32x4.add(v128.load(o, 64), f32x4.mul(s, x4)), 64);
        v128.store(o, f32x4.add(v128.load(o, 80), f32x4.mul(s, x5)), 80);
        v128.store(o, f32x4.add(v128.load(o, 96), f32x4.mul(s, x6)), 96);
        v128.store(o, f32x4.add(v128.load(o, 112), f32x4.mul(s, x7)), 112);
      }
    }
  }
}

/** w += alpha g over n float32s in place; blocks of 16 where g is all zero leave w untouched (exact). */
export function addScaled(w: usize, g: usize, n: i32, alpha: f32): void {
  const n16 = n & ~15;
  const s = f32x4.splat(alpha), zero = f32x4.splat(0);
  for (let i = 0; i < n16; i += 16) {
    const o = <usize>i * 4;
    const g0 = v128.load(g + o), g1 = v128.load(g + o, 16), g2 = v128.load(g + o, 32), g3 = v128.load(g + o, 48);
    if (!v128.any_true(v128.or(v128.or(f32x4.ne(g0, zero), f32x4.ne(g1, zero)), v128.or(f32x4.ne(g2, zero), f32x4.ne(g3, zero))))) continue;
    v128.store(w + o, f32x4.add(v128.load(w + o), f32x4.mul(s, g0)));
    v128.store(w + o, f32x4.add(v128.load(w + o, 16), f32x4.mul(s, g1)), 16);
    v128.store(w + o, f32x4.add(v128.load(w + o, 32), f32x4.mul(s, g2)), 32);
    v128.store(w + o, f32x4.add(v128.load(w + o, 48), f32x4.mul(s, g3)), 48);
  }
  for (let i = n16; i < n; i++) store<f32>(w + <usize>i * 4, load<f32>(w + <usize>i * 4) + alpha * load<f32>(g + <usize>i * 4));
}

/**
 * `addScaled` on rows `rows[0..count)` of row-major w and g [_, n] (the others are not read): the same
 * bits as `addScaled` over the whole arrays when g is zero outside those rows and n is a multiple of
 * 16, since its blocks of 16 then never straddle two rows, and the all-zero rows are blocks it skips.
 */
export function addScaledRows(w: usize, g: usize, rows: usize, count: i32, n: i32, alpha: f32): void {
  for (let r = 0; r < count; r++) {
    const o = <usize>load<i32>(rows + <usize>r * 4) * <usize>n * 4;
    addScaled(w + o, g + o, n, alpha);
  }
}

const TANH = memory.data<f32>([
  4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16,
  4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06,
  7.90531110763549805, -7.90531110763549805, 0.0004,
]);

/**
 * y = tanh(x) over n float32s: a rational approximation (odd degree 13 over even degree 6, the
 * coefficients of Eigen's float tanh) with x clamped to ±7.9053, where tanh rounds to ±1 in float32.
 * Within a few ulps of the correctly rounded value (tested against Math.tanh).
 */
export function tanh(x: usize, y: usize, n: i32): void {
  // Loaded from memory rather than written as constants: the compiler would rebuild each constant
  // inside the loop, at every use; loaded once, they stay in registers.
  const at = TANH;
  const a1 = v128.load32_splat(at), a3 = v128.load32_splat(at, 4), a5 = v128.load32_splat(at, 8), a7 = v128.load32_splat(at, 12);
  const a9 = v128.load32_splat(at, 16), a11 = v128.load32_splat(at, 20), a13 = v128.load32_splat(at, 24);
  const b0 = v128.load32_splat(at, 28), b2 = v128.load32_splat(at, 32), b4 = v128.load32_splat(at, 36), b6 = v128.load32_splat(at, 40);
  const hi = v128.load32_splat(at, 44), lo = v128.load32_splat(at, 48), tiny = v128.load32_splat(at, 52);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i * 4;
    v128.store(y + o, tanh4(v128.load(x + o), a1, a3, a5, a7, a9, a11, a13, b0, b2, b4, b6, hi, lo, tiny));
  }
  for (let i = n4; i < n; i++) store<f32>(y + <usize>i * 4, <f32>Math.tanh(<f64>load<f32>(x + <usize>i * 4)));
}

/**
 * C[m,n] = Sᵀ B for S stored [k,m] (A = Sᵀ, a transposed view: Hᵀ of a gradient Hᵀ G) and B [k,n]
 * row-major: each 4x8 block of C in eight f32x4 registers, fed per step p by one load of four
 * entries of S (splat lane by lane) and two of B.
 */
export function matmulAT(s: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  matmulATRows(s, b, c, m, k, n, 0, m);
}

/** `matmulAT`'s rows [i0, i1) of C (i0 a multiple of 4, i1 too or m): the same bits as in the whole product. */
export function matmulATRows(s: usize, b: usize, c: usize, m: i32, k: i32, n: i32, i0: i32, i1: i32): void {
  const n8 = n & ~7, rowBytes = <usize>m * 4, bBytes = <usize>n * 4;
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    let j = 0;
    for (; j < n8; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let ps = s + <usize>i * 4, pb = b + <usize>j * 4;
      for (let p = 0; p < k; p++, ps += rowBytes, pb += bBytes) {
        const v = v128.load(ps), b0 = v128.load(pb), b1 = v128.load(pb, 16);
        const x0 = f32x4.splat(f32x4.extract_lane(v, 0)), x1 = f32x4.splat(f32x4.extract_lane(v, 1));
        const x2 = f32x4.splat(f32x4.extract_lane(v, 2)), x3 = f32x4.splat(f32x4.extract_lane(v, 3));
        c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
        c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
        c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
        c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
      }
      const r = c + <usize>(i * n + j) * 4;
      v128.store(r, c00); v128.store(r, c01, 16);
      v128.store(r + bBytes, c10); v128.store(r + bBytes, c11, 16);
      v128.store(r + 2 * bBytes, c20); v128.store(r + 2 * bBytes, c21, 16);
      v128.store(r + 3 * bBytes, c30); v128.store(r + 3 * bBytes, c31, 16);
    }
    if (j + 4 <= n) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let ps = s + <usize>i * 4, pb = b + <usize>j * 4;
      for (let p = 0; p < k; p++, ps += rowBytes, pb += bBytes) {
        const v = v128.load(ps), b0 = v128.load(pb);
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(f32x4.extract_lane(v, 0)), b0));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(f32x4.extract_lane(v, 1)), b0));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(f32x4.extract_lane(v, 2)), b0));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(f32x4.extract_lane(v, 3)), b0));
      }
      const r = c + <usize>(i * n + j) * 4;
      v128.store(r, c0); v128.store(r + bBytes, c1); v128.store(r + 2 * bBytes, c2); v128.store(r + 3 * bBytes, c3);
      j += 4;
    }
    for (; j + 2 <= n; j += 2) columnDots4(s, b, c, i, j, m, k, n, true);
    if (j < n) columnDots4(s, b, c, i, j, m, k, n, false);
  }
  for (; i < i1; i++) for (let j = 0; j < n; j++) store<f32>(c + <usize>(i * n + j) * 4, columnDot(s, b, i, j, m, k, n));
}

/**
 * C[i..i+4, j] (and column j + 1 where `two`) with `columnDot`'s bits (a float32 sum over p in order,
 * the product rounded, then the sum, in either build), the four rows in the lanes of one register:
 * S[p, i..i+4] is one load (the last columns of H2ᵀ G3 at the output layer, n = 10).
 */
function columnDots4(s: usize, b: usize, c: usize, i: i32, j: i32, m: i32, k: i32, n: i32, two: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let ps = s + <usize>i * 4, pb = b + <usize>j * 4;
  for (let p = 0; p < k; p++, ps += <usize>m * 4, pb += <usize>n * 4) {
    const v = v128.load(ps);
    s0 = f32x4.add(s0, f32x4.mul(v, v128.load32_splat(pb)));
    if (two) s1 = f32x4.add(s1, f32x4.mul(v, v128.load32_splat(pb, 4)));
  }
  const r = c + <usize>(i * n + j) * 4, q = <usize>n * 4;
  storeColumn(r, q, s0);
  if (two) storeColumn(r + 4, q, s1);
}

/** sum over p of S[p,i] B[p,j]. */
function columnDot(s: usize, b: usize, i: i32, j: i32, m: i32, k: i32, n: i32): f32 {
  let x: f32 = 0;
  for (let p = 0; p < k; p++) x += load<f32>(s + <usize>(p * m + i) * 4) * load<f32>(b + <usize>(p * n + j) * 4);
  return x;
}

// ------------------------------------------------------------------ elementwise, for float32 arrays

/** tanh of four lanes, the formula of `tanh` (its constants passed in, loaded once by the caller). */
@inline function tanh4(v: v128, a1: v128, a3: v128, a5: v128, a7: v128, a9: v128, a11: v128, a13: v128, b0: v128, b2: v128, b4: v128, b6: v128, hi: v128, lo: v128, tiny: v128): v128 {
  const c = f32x4.pmax(f32x4.pmin(v, hi), lo); // pseudo-min/max, one instruction each: a NaN passes through
  const c2 = f32x4.mul(c, c);
  let p = f32x4.add(f32x4.mul(c2, a13), a11);
  p = f32x4.add(f32x4.mul(c2, p), a9);
  p = f32x4.add(f32x4.mul(c2, p), a7);
  p = f32x4.add(f32x4.mul(c2, p), a5);
  p = f32x4.add(f32x4.mul(c2, p), a3);
  p = f32x4.add(f32x4.mul(c2, p), a1);
  p = f32x4.mul(c, p);
  let q = f32x4.add(f32x4.mul(c2, b6), b4);
  q = f32x4.add(f32x4.mul(c2, q), b2);
  q = f32x4.add(f32x4.mul(c2, q), b0);
  // |x| < 0.0004: tanh(x) = x to float32 precision (and keeps -0 and tiny values exact)
  return v128.bitselect(v, f32x4.div(p, q), f32x4.lt(f32x4.abs(v), tiny));
}

/** tanh(x + bias) for four lanes (bias from memory): the bias add then `tanh`, with its constants read here, after a sum's loop, not held in registers through it. */
@inline function addTanh4(x: v128, bias: usize): v128 {
  const at = TANH;
  return tanh4(
    f32x4.add(x, v128.load(bias)),
    v128.load32_splat(at), v128.load32_splat(at, 4), v128.load32_splat(at, 8), v128.load32_splat(at, 12),
    v128.load32_splat(at, 16), v128.load32_splat(at, 20), v128.load32_splat(at, 24),
    v128.load32_splat(at, 28), v128.load32_splat(at, 32), v128.load32_splat(at, 36), v128.load32_splat(at, 40),
    v128.load32_splat(at, 44), v128.load32_splat(at, 48), v128.load32_splat(at, 52),
  );
}

const ONE = memory.data<f32>([1]);

/** C[i,j] = A[i,j] + b[j] for row-major A [m,n]: a bias added to every row. */
export function addRow(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < m; i++) {
    const ar = a + <usize>(i * n) * 4, cr = c + <usize>(i * n) * 4;
    for (let j = 0; j < n4; j += 4) v128.store(cr + <usize>j * 4, f32x4.add(v128.load(ar + <usize>j * 4), v128.load(b + <usize>j * 4)));
    for (let j = n4; j < n; j++) store<f32>(cr + <usize>j * 4, load<f32>(ar + <usize>j * 4) + load<f32>(b + <usize>j * 4));
  }
}

/** c[j] = sum over i of A[i,j] for row-major A [m,n] (in row order, as the TypeScript loop adds). */
export function sumRows(a: usize, c: usize, m: i32, n: i32): void {
  // 16 columns at a time, four chains of additions at once (one column's sum is a chain: one
  // register at a time waited on each addition's latency); each column's sum in the same order.
  const n4 = n & ~3, n16 = n & ~15;
  for (let j = 0; j < n16; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let i = 0; i < m; i++) {
      const r = a + <usize>(i * n + j) * 4;
      s0 = f32x4.add(s0, v128.load(r));
      s1 = f32x4.add(s1, v128.load(r, 16));
      s2 = f32x4.add(s2, v128.load(r, 32));
      s3 = f32x4.add(s3, v128.load(r, 48));
    }
    const o = c + <usize>j * 4;
    v128.store(o, s0); v128.store(o, s1, 16); v128.store(o, s2, 32); v128.store(o, s3, 48);
  }
  for (let j = n16; j < n4; j += 4) {
    let s = f32x4.splat(0);
    for (let i = 0; i < m; i++) s = f32x4.add(s, v128.load(a + <usize>(i * n + j) * 4));
    v128.store(c + <usize>j * 4, s);
  }
  for (let j = n4; j < n; j++) {
    let s: f32 = 0;
    for (let i = 0; i < m; i++) s += load<f32>(a + <usize>(i * n + j) * 4);
    store<f32>(c + <usize>j * 4, s);
  }
}

/** c = g (1 - y²) over n float32s: the gradient through tanh from its output y. */
export function tanhGrad(g: usize, y: usize, c: usize, n: i32): void {
  const one = v128.load32_splat(ONE), n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i * 4, v = v128.load(y + o);
    v128.store(c + o, f32x4.mul(v128.load(g + o), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (let i = n4; i < n; i++) {
    const v = load<f32>(y + <usize>i * 4);
    store<f32>(c + <usize>i * 4, load<f32>(g + <usize>i * 4) * (1 - v * v));
  }
}

/** The number of non-zero float32s among n. */
export function countNonzero(x: usize, n: i32): i32 {
  const n4 = n & ~3, zero = f32x4.splat(0);
  let counts = i32x4.splat(0);
  // f32x4.ne gives -1 per non-zero lane: subtracting counts them.
  for (let i = 0; i < n4; i += 4) counts = i32x4.sub(counts, f32x4.ne(v128.load(x + <usize>i * 4), zero));
  let total = i32x4.extract_lane(counts, 0) + i32x4.extract_lane(counts, 1) + i32x4.extract_lane(counts, 2) + i32x4.extract_lane(counts, 3);
  for (let i = n4; i < n; i++) if (load<f32>(x + <usize>i * 4) != 0) total++;
  return total;
}

// ------------------------------------------------------------------ convolution and pooling (assembly/conv.ts, pool.ts)

export { patches, convDirect } from './conv';
export { maxPool, avgPool, scatterAdd } from './pool';
export { relu, reluGrad } from './relu';

// ------------------------------------------------------------------ optimisers (assembly/optim.ts)

export { adamSteps } from './optim';

// ------------------------------------------------------------------ the sparse product by pairs of rows (assembly/pairs.ts)

export { combinePairsWritten, pairsSmallestB } from './pairs';
