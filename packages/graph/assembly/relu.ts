// AssemblyScript: ReLU and its gradient over float32 arrays (src/kernels/elementwise.ts has the same
// loops in TypeScript, the reference). Both are selects, without branches, and give the bits of the
// scalar definitions: y = x > 0 ? x : 0 (a NaN and -0 give +0) and dx = g · (x > 0 ? 1 : 0) (a
// product, not a select, so that an infinite g where x <= 0 gives NaN as the unfused mask did).
// Exported by matmul.ts; pointer and length only, so a range of an array is a call on a sub-array.

const ONES = memory.data<f32>([1]);

/** y[i] = x[i] > 0 ? x[i] : 0 over n float32s; x, y byte offsets. */
export function relu(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0), n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i * 4, v = v128.load(x + o);
    v128.store(y + o, v128.and(v, f32x4.gt(v, zero)));
  }
  for (let i = n4; i < n; i++) {
    const v = load<f32>(x + <usize>i * 4);
    store<f32>(y + <usize>i * 4, v > 0 ? v : 0);
  }
}

/** c[i] = g[i] · (x[i] > 0 ? 1 : 0) over n float32s: the gradient through ReLU of its input x. */
export function reluGrad(g: usize, x: usize, c: usize, n: i32): void {
  const zero = f32x4.splat(0), one = v128.load32_splat(ONES), n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i * 4;
    v128.store(c + o, f32x4.mul(v128.load(g + o), v128.and(one, f32x4.gt(v128.load(x + o), zero))));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(c + o, load<f32>(g + o) * (load<f32>(x + o) > 0 ? <f32>1 : 0));
  }
}
