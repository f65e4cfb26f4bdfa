/**
 * The hot loops: matrix product, elementwise maps, broadcasting and reductions.
 *
 * This is the only module that touches `ndarray` internals (data, strides, offsets): ops and the
 * tape see tensors. Kernels return contiguous row-major arrays (fresh ones, but for `reshape` and
 * `sumToShape`, which may hand back their input's data), so a faster kernel can replace one here
 * without touching an op. The float32 matrix product runs in WebAssembly (wasm.ts) when built.
 */
export * from './arrays.ts';
export * from './elementwise.ts';
export * from './matmul.ts';
export * from './reduce.ts';
