// AssemblyScript: the data movement of a convolution by im2col, for float32 (src/kernels/conv.ts
// has the same loops in TypeScript, for float64 and as the reference). Rows of patches are copied
// and added back four values at a time where the stride is 1 (the common case). Exported by
// matmul.ts, the module's entry.

import { madd } from './madd';

/** The first and one-past-last output index o with 0 <= o stride - pad + offset < size. */
@inline function validLo(stride: i32, pad: i32, offset: i32): i32 {
  const d = pad - offset;
  return d <= 0 ? 0 : (d + stride - 1) / stride;
}
@inline function validHi(out: i32, stride: i32, pad: i32, offset: i32, size: i32, lo: i32): i32 {
  const d = size - 1 + pad - offset;
  const hi = d < 0 ? 0 : min(out, d / stride + 1);
  return max(lo, hi);
}

/** dst[0..len) = src[0..len) step `stride` (in floats); byte offsets. */
@inline function copyRow(src: usize, dst: usize, len: i32, stride: i32): void {
  let o = 0;
  if (stride == 1) {
    for (; o + 4 <= len; o += 4) v128.store(dst + <usize>o * 4, v128.load(src + <usize>o * 4));
    for (; o < len; o++) store<f32>(dst + <usize>o * 4, load<f32>(src + <usize>o * 4));
  } else {
    for (; o < len; o++) store<f32>(dst + <usize>o * 4, load<f32>(src + <usize>(o * stride) * 4));
  }
}

/** dst[0..len) = 0. */
@inline function zero(dst: usize, len: i32): void {
  let o = 0;
  for (; o + 4 <= len; o += 4) v128.store(dst + <usize>o * 4, f32x4.splat(0));
  for (; o < len; o++) store<f32>(dst + <usize>o * 4, 0);
}

/** dst[0..len) step `stride` += src[0..len). */
@inline function addRow(src: usize, dst: usize, len: i32, stride: i32): void {
  let o = 0;
  if (stride == 1) {
    for (; o + 4 <= len; o += 4) {
      const d = dst + <usize>o * 4;
      v128.store(d, f32x4.add(v128.load(d), v128.load(src + <usize>o * 4)));
    }
    for (; o < len; o++) store<f32>(dst + <usize>o * 4, load<f32>(dst + <usize>o * 4) + load<f32>(src + <usize>o * 4));
  } else {
    for (; o < len; o++) {
      const d = dst + <usize>(o * stride) * 4;
      store<f32>(d, load<f32>(d) + load<f32>(src + <usize>o * 4));
    }
  }
}

/**
 * im2col (add = false) or its adjoint col2im (add = true) for channels [c0, c1) and samples
 * [n0, n1): cols row ((c - c0) kh + i) kw + j, column (n - n0) oh ow + oy ow + ox holds
 * x[n, c, oy sh - ph + i dh, ox sw - pw + j dw], and 0 where that lies in the padding (im2col writes
 * every entry of its rows, so cols need not start zeroed). x is [N, C, H, W]; x and cols are byte offsets.
 */
export function patches(
  x: usize, cols: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32,
  oh: i32, ow: i32, c0: i32, c1: i32, n0: i32, n1: i32, add: bool, width: i32,
): void {
  // width: the length of a row of cols (its columns (n1 - n0)·P, or more when this call is a part of
  // a larger matrix: samples [n0, n1) of a split call, cols pointing at the part's first column)
  const P = oh * ow;
  for (let c = c0; c < c1; c++) {
    for (let i = 0; i < kh; i++) {
      const y0 = validLo(sh, ph, i * dh), y1 = validHi(oh, sh, ph, i * dh, H, y0);
      for (let j = 0; j < kw; j++) {
        const x0 = validLo(sw, pw, j * dw), x1 = validHi(ow, sw, pw, j * dw, W, x0), len = x1 - x0;
        const base = (((c - c0) * kh + i) * kw + j) * width, shift = i * dh - ph, left = j * dw - pw + x0 * sw;
        for (let n = n0; n < n1; n++) {
          const plane = (n * C + c) * H * W, at = base + (n - n0) * P;
          if (add) {
            for (let oy = y0; oy < y1; oy++) {
              addRow(cols + <usize>(at + oy * ow + x0) * 4, x + <usize>(plane + (oy * sh + shift) * W + left) * 4, len, sw);
            }
          } else {
            const first = cols + <usize>at * 4;
            zero(first, y0 * ow); // rows above the image
            for (let oy = y0; oy < y1; oy++) {
              const row = first + <usize>(oy * ow) * 4;
              if (x0 > 0) zero(row, x0);
              copyRow(x + <usize>(plane + (oy * sh + shift) * W + left) * 4, row + <usize>x0 * 4, len, sw);
              if (x1 < ow) zero(row + <usize>x1 * 4, ow - x1);
            }
            zero(first + <usize>(y1 * ow) * 4, (oh - y1) * ow); // rows below
          }
        }
      }
    }
  }
}

/** Stores the first `lanes` (1 to 4) lanes of v at p. */
@inline function storeLanes(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * The direct convolution for stride 1, dilation 1, one group, samples [n0, n1): out[n, f, oy, ox] =
 * Σ over c, i, j in that order of w[f, c, i, j] xp[c, oy + i, ox + j], then + bias[f] (hasBias),
 * with xp sample n padded by ph, pw (zeros, multiplied as im2col's zeros are). This is the order
 * and the arithmetic (madd) of `matmul` over im2col's matrix with the bias as its last row, so the
 * same bits, without writing that matrix. w is [fp, K = C kh kw] with fp a multiple of 4 (rows past
 * F zero, not stored); xp is scratch of C (H + 2 ph) (W + 2 pw) + 8 floats. Blocks of 4 filters x 8
 * outputs of a row in eight registers; the row's last 1-7 outputs by 4 lanes, the extra ones not stored.
 */
export function convDirect(
  x: usize, w: usize, bias: usize, out: usize, xp: usize, C: i32, H: i32, W: i32, F: i32, kh: i32, kw: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, n0: i32, n1: i32, hasBias: bool,
): void {
  const Hp = H + 2 * ph, Wp = W + 2 * pw, K = C * kh * kw, P = oh * ow;
  const padded = <usize>(C * Hp * Wp + 8) << 2, ks = <usize>K << 2;
  memory.fill(xp, 0, padded);
  for (let n = n0; n < n1; n++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        memory.copy(xp + (<usize>((c * Hp + y + ph) * Wp + pw) << 2), x + (<usize>(((n * C + c) * H + y) * W) << 2), <usize>W << 2);
      }
    }
    for (let f0 = 0; f0 < F; f0 += 4) {
      const fb = min(4, F - f0);
      let b0 = f32x4.splat(0), b1 = b0, b2 = b0, b3 = b0;
      if (hasBias) {
        b0 = v128.load32_splat(bias + (<usize>f0 << 2));
        if (fb > 1) b1 = v128.load32_splat(bias + (<usize>(f0 + 1) << 2));
        if (fb > 2) b2 = v128.load32_splat(bias + (<usize>(f0 + 2) << 2));
        if (fb > 3) b3 = v128.load32_splat(bias + (<usize>(f0 + 3) << 2));
      }
      const w0 = w + <usize>f0 * ks;
      const o0 = out + (<usize>((n * F + f0) * P) << 2), os = <usize>P << 2;
      for (let oy = 0; oy < oh; oy++) {
        let ox = 0;
        for (; ox + 8 <= ow; ox += 8) {
          let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
          let q: usize = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              const row = xp + (<usize>((c * Hp + oy + i) * Wp + ox) << 2);
              for (let j = 0; j < kw; j++, q += 4) {
                const v0 = v128.load(row + (<usize>j << 2)), v1 = v128.load(row + (<usize>j << 2), 16);
                const a0 = v128.load32_splat(w0 + q), a1 = v128.load32_splat(w0 + ks + q);
                const a2 = v128.load32_splat(w0 + 2 * ks + q), a3 = v128.load32_splat(w0 + 3 * ks + q);
                c00 = madd(a0, v0, c00); c01 = madd(a0, v1, c01);
                c10 = madd(a1, v0, c10); c11 = madd(a1, v1, c11);
                c20 = madd(a2, v0, c20); c21 = madd(a2, v1, c21);
                c30 = madd(a3, v0, c30); c31 = madd(a3, v1, c31);
              }
            }
          }
          const r = o0 + (<usize>(oy * ow + ox) << 2);
          if (hasBias) {
            c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b0); c10 = f32x4.add(c10, b1); c11 = f32x4.add(c11, b1);
            c20 = f32x4.add(c20, b2); c21 = f32x4.add(c21, b2); c30 = f32x4.add(c30, b3); c31 = f32x4.add(c31, b3);
          }
          v128.store(r, c00); v128.store(r, c01, 16);
          if (fb > 1) { v128.store(r + os, c10); v128.store(r + os, c11, 16); }
          if (fb > 2) { v128.store(r + 2 * os, c20); v128.store(r + 2 * os, c21, 16); }
          if (fb > 3) { v128.store(r + 3 * os, c30); v128.store(r + 3 * os, c31, 16); }
        }
        for (; ox < ow; ox += 4) {
          let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
          let q: usize = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              const row = xp + (<usize>((c * Hp + oy + i) * Wp + ox) << 2);
              for (let j = 0; j < kw; j++, q += 4) {
                const v = v128.load(row + (<usize>j << 2));
                c0 = madd(v128.load32_splat(w0 + q), v, c0);
                c1 = madd(v128.load32_splat(w0 + ks + q), v, c1);
                c2 = madd(v128.load32_splat(w0 + 2 * ks + q), v, c2);
                c3 = madd(v128.load32_splat(w0 + 3 * ks + q), v, c3);
              }
            }
          }
          if (hasBias) {
            c0 = f32x4.add(c0, b0); c1 = f32x4.add(c1, b1); c2 = f32x4.add(c2, b2); c3 = f32x4.add(c3, b3);
          }
          const r = o0 + (<usize>(oy * ow + ox) << 2), lanes = min(4, ow - ox);
          storeLanes(r, c0, lanes);
          if (fb > 1) storeLanes(r + os, c1, lanes);
          if (fb > 2) storeLanes(r + 2 * os, c2, lanes);
          if (fb > 3) storeLanes(r + 3 * os, c3, lanes);
        }
      }
    }
  }
}
