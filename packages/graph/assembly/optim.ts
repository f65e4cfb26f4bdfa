// AssemblyScript: Adam over many float32 tensors in one call (a multi-tensor apply, like PyTorch's
// foreach Adam). Every intermediate is a float64 and a value is rounded to float32 only where it is
// stored, as the TypeScript loop does (src/kernels/optim.ts), so both give the same bits; two
// elements a step, in f64x2 lanes.

@inline function widen(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

@inline function narrow(p: usize, x: v128): v128 {
  const r = f32x4.demote_f64x2_zero(x);
  v128.store64_lane(p, r, 0);
  return f64x2.promote_low_f32x4(r); // the stored value, as the next line of the formula reads it
}

/**
 * Adam on `count` tensors listed at `table`, five i32 each: the byte offsets of w, g, m, v and the
 * length. w *= decay (when decay != 1), m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g g,
 * w -= lr (m / c1) / (sqrt(v / c2) + eps).
 */
export function adamSteps(table: usize, count: i32, lr: f64, b1: f64, b2: f64, c1: f64, c2: f64, eps: f64, decay: f64): void {
  const a1 = 1 - b1, a2 = 1 - b2;
  const B1 = f64x2.splat(b1), B2 = f64x2.splat(b2), A1 = f64x2.splat(a1), A2 = f64x2.splat(a2);
  const LR = f64x2.splat(lr), C1 = f64x2.splat(c1), C2 = f64x2.splat(c2), EPS = f64x2.splat(eps), D = f64x2.splat(decay);
  const decays = decay != 1;
  for (let t = 0; t < count; t++) {
    const row = table + <usize>t * 20;
    const w = <usize>load<u32>(row), g = <usize>load<u32>(row, 4), m = <usize>load<u32>(row, 8), v = <usize>load<u32>(row, 12);
    const n = load<i32>(row, 16), n2 = n & ~1;
    for (let i = 0; i < n2; i += 2) {
      const o = <usize>i * 4;
      const G = widen(g + o);
      let W = widen(w + o);
      if (decays) W = narrow(w + o, f64x2.mul(W, D));
      const M = narrow(m + o, f64x2.add(f64x2.mul(B1, widen(m + o)), f64x2.mul(A1, G)));
      const V = narrow(v + o, f64x2.add(f64x2.mul(B2, widen(v + o)), f64x2.mul(f64x2.mul(A2, G), G)));
      const step = f64x2.div(f64x2.mul(LR, f64x2.div(M, C1)), f64x2.add(f64x2.sqrt(f64x2.div(V, C2)), EPS));
      narrow(w + o, f64x2.sub(W, step));
    }
    for (let i = n2; i < n; i++) {
      const o = <usize>i * 4;
      const G = <f64>load<f32>(g + o);
      if (decays) store<f32>(w + o, <f32>(<f64>load<f32>(w + o) * decay));
      store<f32>(m + o, <f32>(b1 * <f64>load<f32>(m + o) + a1 * G));
      store<f32>(v + o, <f32>(b2 * <f64>load<f32>(v + o) + a2 * G * G));
      const M = <f64>load<f32>(m + o), V = <f64>load<f32>(v + o);
      store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - (lr * (M / c1)) / (Math.sqrt(V / c2) + eps)));
    }
  }
}
