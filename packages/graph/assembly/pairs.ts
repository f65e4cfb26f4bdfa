// AssemblyScript: the sparse product by pairs of rows (see combinePairsWritten).

import { madd } from './madd';

/**
 * `combineRowsWritten` (C = A B over A's non-zeros, rows of A with none left unwritten and listed in
 * `written`), two rows of A at a time over the union of their non-zeros, so that each load of B
 * feeds both rows' sums: for Xᵀ G at batch 128, where neighbouring pixels (rows of Xᵀ) are non-zero
 * in mostly the same images. A row's sum then also meets the terms 0 · b of the other row's
 * non-zeros. These change no bit when B is finite (the caller checks: `pairsSmallestB` gives
 * `smallB`, B's smallest non-zero |b|) and every product of non-zeros is at least 2^-99 (checked per
 * group, from the group's smallest non-zero |a|): each such product is then a non-zero multiple of
 * 2^-149, as every float32 is, so a sum that starts at +0 never becomes -0 (a rounded product or sum
 * is -0 only below 2^-150), and adding ±0 leaves it as it was. A group that fails the check takes
 * each row alone, skipping its zeros. So every entry has the bits of `combineRowsWritten`. n a
 * multiple of 16; rows in groups of `group` (even) as combineRows takes them; `scratch` holds
 * group (8k + 6) + 16 bytes.
 */
export function combinePairsWritten(a: usize, as0: i32, as1: i32, b: usize, c: usize, m: i32, k: i32, n: i32, group: i32, scratch: usize, written: usize, smallB: f32): i32 {
  let nonEmpty = 0;
  const pairs = group >> 1;
  // per pair of the group: its union count, its two rows' counts, then up to k (row of B, coefficient, coefficient, -) entries
  const counts = scratch, lists = scratch + ((<usize>pairs * 12 + 15) & ~15);
  for (let i0 = 0; i0 < m; i0 += group) {
    const rows = min(group, m - i0);
    let smallA: f32 = Infinity; // the group's smallest finite non-zero |a|
    for (let r = 0; r < rows; r += 2) {
      const i = i0 + r, list = lists + <usize>((r >> 1) * k) * 16, two = r + 1 < rows;
      let q = 0, q0 = 0, q1 = 0;
      // each entry written, kept (q moves on) only if either row is non-zero there, with no branch to mispredict
      for (let p = 0; p < k; p++) {
        const v0 = load<f32>(a + <usize>(i * as0 + p * as1) * 4);
        const v1 = two ? load<f32>(a + <usize>((i + 1) * as0 + p * as1) * 4) : <f32>0;
        const e = list + <usize>q * 16;
        store<u32>(e, <u32>(b + <usize>(p * n) * 4));
        store<f32>(e, v0, 4);
        store<f32>(e, v1, 8);
        const n0 = i32(v0 != 0),
          n1 = i32(v1 != 0);
        const m0 = abs(v0),
          m1 = abs(v1);
        smallA = select(m0, smallA, n0 & i32(m0 < smallA));
        smallA = select(m1, smallA, n1 & i32(m1 < smallA));
        q0 += n0;
        q1 += n1;
        q += n0 | n1;
      }
      const at = counts + <usize>(r >> 1) * 12;
      store<i32>(at, q);
      store<i32>(at, q0, 4);
      store<i32>(at, q1, 8);
      if (q0 != 0) store<i32>(written + <usize>(nonEmpty++) * 4, i);
      if (q1 != 0) store<i32>(written + <usize>(nonEmpty++) * 4, i + 1);
    }
    // A pair's extra terms 0 · b change no bit when every product of non-zeros is at least 2^-99
    // (and B is finite: the caller's pairsExact); else each row alone, skipping its zeros.
    const exact = <f64>smallA * <f64>smallB >= 1.5777218104420236e-30;
    for (let j = 0; j < n; j += 16) {
      const off = <usize>j * 4;
      for (let r = 0; r < rows; r += 2) {
        const at = counts + <usize>(r >> 1) * 12, list = lists + <usize>((r >> 1) * k) * 16;
        const q = load<i32>(at), q0 = load<i32>(at, 4), q1 = load<i32>(at, 8);
        const o = c + <usize>((i0 + r) * n) * 4 + off;
        if (!exact) {
          if (q0 != 0) alone(list, q, off, 4, o);
          if (q1 != 0) alone(list, q, off, 8, o + <usize>n * 4);
        } else if (q0 != 0 && q1 != 0) {
          let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
          let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
          for (let t = 0; t < q; t++) {
            const e = list + <usize>t * 16;
            const row = <usize>load<u32>(e) + off, s0 = v128.load32_splat(e, 4), s1 = v128.load32_splat(e, 8);
            const b0 = v128.load(row), b1 = v128.load(row, 16), b2 = v128.load(row, 32), b3 = v128.load(row, 48);
            x0 = madd(s0, b0, x0);
            y0 = madd(s1, b0, y0);
            x1 = madd(s0, b1, x1);
            y1 = madd(s1, b1, y1);
            x2 = madd(s0, b2, x2);
            y2 = madd(s1, b2, y2);
            x3 = madd(s0, b3, x3);
            y3 = madd(s1, b3, y3);
          }
          v128.store(o, x0);
          v128.store(o, x1, 16);
          v128.store(o, x2, 32);
          v128.store(o, x3, 48);
          const o1 = o + <usize>n * 4;
          v128.store(o1, y0);
          v128.store(o1, y1, 16);
          v128.store(o1, y2, 32);
          v128.store(o1, y3, 48);
        } else if (q0 != 0) alone(list, q, off, 4, o);
        else if (q1 != 0) alone(list, q, off, 8, o + <usize>n * 4);
      }
    }
  }
  return nonEmpty;
}

/**
 * One row's 16 columns at `off` over a pair's union list (its coefficient at byte `lane` of each
 * entry), its own zeros skipped: the sums of `combineRowsWritten`, term for term.
 */
@inline function alone(list: usize, q: i32, off: usize, lane: usize, out: usize): void {
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
  for (let t = 0; t < q; t++) {
    const e = list + <usize>t * 16;
    if (load<f32>(e + lane) == 0) continue;
    const row = <usize>load<u32>(e) + off, s = v128.load32_splat(e + lane);
    x0 = madd(s, v128.load(row), x0);
    x1 = madd(s, v128.load(row, 16), x1);
    x2 = madd(s, v128.load(row, 32), x2);
    x3 = madd(s, v128.load(row, 48), x3);
  }
  v128.store(out, x0);
  v128.store(out, x1, 16);
  v128.store(out, x2, 32);
  v128.store(out, x3, 48);
}

const INF = memory.data<f32>([Infinity]);

/**
 * What `combinePairsWritten` needs to know of B (`count` floats at b): its smallest non-zero |b|
 * (Infinity if all are zero), or 0 when a value is not finite (0 · b would then be NaN: no pairs).
 */
export function pairsSmallestB(b: usize, count: i32): f32 {
  const inf = v128.load32_splat(INF), zero = f32x4.splat(0);
  let finite = i32x4.splat(-1),
    least = inf;
  const n4 = count & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(b + <usize>i * 4), m = f32x4.abs(v);
    finite = v128.and(finite, f32x4.eq(f32x4.sub(v, v), zero));
    least = f32x4.pmin(least, v128.bitselect(inf, m, f32x4.eq(m, zero)));
  }
  let small = min(min(f32x4.extract_lane(least, 0), f32x4.extract_lane(least, 1)), min(f32x4.extract_lane(least, 2), f32x4.extract_lane(least, 3)));
  let ok = i32x4.all_true(finite);
  for (let i = n4; i < count; i++) {
    const v = load<f32>(b + <usize>i * 4);
    if (v - v != 0) ok = false;
    else if (v != 0) small = min(small, abs(v));
  }
  return ok ? small : 0;
}
