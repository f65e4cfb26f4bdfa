// AssemblyScript: the data movement of a convolution by im2col, for float32 (src/kernels/conv.ts
// has the same loops in TypeScript, for float64 and as the reference). Rows of patches are copied
// and added back four values at a time where the stride is 1 (the common case). Exported by
// matmul.ts, the module's entry.

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
  oh: i32, ow: i32, c0: i32, c1: i32, n0: i32, n1: i32, add: bool,
): void {
  const P = oh * ow, width = (n1 - n0) * P;
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
