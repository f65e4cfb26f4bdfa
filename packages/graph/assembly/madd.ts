// AssemblyScript: the multiply-add of the products (matmul.ts) and the direct convolution (conv.ts).

/**
 * a b + c, lane by lane: one fused multiply-add where the module is built with relaxed SIMD (the
 * fused kernels, kernels-fma.wasm), a multiply and an add otherwise.
 */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
