// AssemblyScript: 2-D pooling of float32 planes (src/kernels/pool.ts has the same loops in
// TypeScript, for float64 and as the reference). The max runs four windows at a time with vector
// compares and selects, without branches: which entry of a window is largest is a coin toss for a
// branch predictor. Exported by matmul.ts.

/**
 * out[o] = the max of window o of x [planes, H, W] (clipped to the plane), at[o] (i32) the flat index
 * of its first maximum in row-major window order; a NaN wins and stays. x, out, at are byte offsets.
 * Four outputs of a row at a time where their windows lie inside the plane, one at a time at the edges.
 */
export function maxPool(x: usize, out: usize, at: usize, planes: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32): void {
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
    maxPool2x2(x, out, at, planes, H, W, oh, ow);
    return;
  }
  // outputs [inLo, inHi) have windows inside the row: ox sw - pw >= 0 and ox sw - pw + kw <= W
  const inLo = min(ow, (pw + sw - 1) / sw), inHi = max(inLo, min(ow, W - kw + pw >= 0 ? (W - kw + pw) / sw + 1 : 0));
  const lanes = i32x4(0, sw, 2 * sw, 3 * sw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let oy = 0; oy < oh; oy++, o += ow) {
      const top = oy * sh - ph, y0 = max(0, top), y1 = min(H, top + kh);
      let ox = 0;
      for (; ox < inLo; ox++) maxWindow(x, out, at, o + ox, plane, W, y0, y1, ox * sw - pw, kw);
      for (; ox + 4 <= inHi; ox += 4) {
        let best = f32x4.splat(-Infinity), index = i32x4.add(i32x4.splat(plane + y0 * W + ox * sw - pw), lanes);
        for (let y = y0; y < y1; y++) {
          for (let j = 0; j < kw; j++) {
            const i = plane + y * W + ox * sw - pw + j;
            const v = load4(x + (<usize>i << 2), sw);
            const better = v128.or(f32x4.gt(v, best), v128.and(f32x4.ne(v, v), f32x4.eq(best, best)));
            best = v128.bitselect(v, best, better);
            index = v128.bitselect(i32x4.add(i32x4.splat(i), lanes), index, better);
          }
        }
        v128.store(out + (<usize>(o + ox) << 2), best);
        v128.store(at + (<usize>(o + ox) << 2), index);
      }
      for (; ox < ow; ox++) maxWindow(x, out, at, o + ox, plane, W, y0, y1, ox * sw - pw, kw);
    }
  }
}

/** One step of the max over four windows: v (entries at indices i) replaces best where larger, or a NaN where best is not one. */
@inline function better(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.and(f32x4.ne(v, v), f32x4.eq(best, best)));
}

/**
 * maxPool for 2x2 windows at stride 2 without padding (the common case): four windows from two
 * vector loads of each of their two rows, split into even and odd columns, then the four entries
 * of each window in row-major order, as the general loop compares them (the same maxima, the same
 * indices). A row's last ow mod 4 windows one at a time.
 */
function maxPool2x2(x: usize, out: usize, at: usize, planes: i32, H: i32, W: i32, oh: i32, ow: i32): void {
  const evens = i32x4(0, 2, 4, 6), one = i32x4.splat(1), down = i32x4.splat(W), diagonal = i32x4.splat(W + 1);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let oy = 0; oy < oh; oy++, o += ow) {
      const top = plane + 2 * oy * W;
      let ox = 0;
      for (; ox + 4 <= ow; ox += 4) {
        const i = top + 2 * ox, a = x + (<usize>i << 2), b = a + (<usize>W << 2);
        const a0 = v128.load(a), a1 = v128.load(a, 16), b0 = v128.load(b), b1 = v128.load(b, 16);
        const first = i32x4.add(i32x4.splat(i), evens);
        // the first entry: the general loop's first step from -Infinity gives it and its index in every case
        let best = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), index = first;
        let v = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
        let m = better(v, best);
        best = v128.bitselect(v, best, m);
        index = v128.bitselect(i32x4.add(first, one), index, m);
        v = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6);
        m = better(v, best);
        best = v128.bitselect(v, best, m);
        index = v128.bitselect(i32x4.add(first, down), index, m);
        v = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
        m = better(v, best);
        best = v128.bitselect(v, best, m);
        index = v128.bitselect(i32x4.add(first, diagonal), index, m);
        v128.store(out + (<usize>(o + ox) << 2), best);
        v128.store(at + (<usize>(o + ox) << 2), index);
      }
      for (; ox < ow; ox++) maxWindow(x, out, at, o + ox, plane, W, 2 * oy, 2 * oy + 2, 2 * ox, 2);
    }
  }
}

/** x[0], x[stride], x[2 stride], x[3 stride] (in floats) as one vector; x a byte offset. */
@inline function load4(x: usize, stride: i32): v128 {
  if (stride == 1) return v128.load(x);
  if (stride == 2) return v128.shuffle<f32>(v128.load(x), v128.load(x, 16), 0, 2, 4, 6);
  const s = <usize>stride << 2;
  let v = f32x4.splat(load<f32>(x));
  v = f32x4.replace_lane(v, 1, load<f32>(x + s));
  v = f32x4.replace_lane(v, 2, load<f32>(x + 2 * s));
  return f32x4.replace_lane(v, 3, load<f32>(x + 3 * s));
}

/** One window, [y0, y1) x [left, left + kw) clipped to the plane: its max into out[o], the index into at[o]. */
function maxWindow(x: usize, out: usize, at: usize, o: i32, plane: i32, W: i32, y0: i32, y1: i32, left: i32, kw: i32): void {
  const x0 = max(0, left), x1 = min(W, left + kw);
  let best: f32 = -Infinity, index = plane + y0 * W + x0;
  for (let y = y0; y < y1; y++) {
    for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      if (v > best || (v != v && best == best)) {
        best = v;
        index = i;
      }
    }
  }
  store<f32>(out + (<usize>o << 2), best);
  store<i32>(at + (<usize>o << 2), index);
}

/**
 * The mean of each window of x [planes, H, W] into out (backward = false), or its adjoint, each
 * out-sized gradient value spread over its window and added onto x-sized dx (backward = true). A
 * sum is divided by the whole window (includePad) or by the input values in it.
 */
export function avgPool(x: usize, out: usize, planes: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32, includePad: bool, backward: bool): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let oy = 0; oy < oh; oy++) {
      const top = oy * sh - ph, y0 = max(0, top), y1 = min(H, top + kh);
      for (let ox = 0; ox < ow; ox++, o++) {
        const left = ox * sw - pw, x0 = max(0, left), x1 = min(W, left + kw);
        const divisor = <f32>(includePad ? kh * kw : (y1 - y0) * (x1 - x0));
        const slot = out + (<usize>o << 2);
        if (backward) {
          const v = load<f32>(slot) / divisor;
          for (let y = y0; y < y1; y++) {
            for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) {
              const d = x + (<usize>i << 2);
              store<f32>(d, load<f32>(d) + v);
            }
          }
        } else {
          let s: f32 = 0;
          for (let y = y0; y < y1; y++) {
            for (let i = plane + y * W + x0, end = plane + y * W + x1; i < end; i++) s += load<f32>(x + (<usize>i << 2));
          }
          store<f32>(slot, s / divisor);
        }
      }
    }
  }
}

/**
 * out = zeros(size), then out[at[o]] += v[o] for o in [0, count): the adjoint of picking x at the
 * indices (maxPool's backward), in the order of o as the TypeScript loop adds. An index outside
 * [0, size) is skipped and counted: returns how many were. v, at (i32), out: byte offsets.
 */
export function scatterAdd(v: usize, at: usize, out: usize, count: i32, size: i32): i32 {
  memory.fill(out, 0, <usize>size << 2);
  let outside = 0;
  for (let o = 0; o < count; o++) {
    const i = load<i32>(at + (<usize>o << 2));
    if (<u32>i >= <u32>size) {
      outside++;
      continue;
    }
    const d = out + (<usize>i << 2);
    store<f32>(d, load<f32>(d) + load<f32>(v + (<usize>o << 2)));
  }
  return outside;
}
