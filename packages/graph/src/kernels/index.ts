/**
 * The hot loops: matrix product, elementwise maps, broadcasting and reductions.
 *
 * This is the only module that touches `ndarray` internals (data, strides, offsets): ops and the
 * tape see tensors. Kernels return contiguous row-major arrays (fresh ones, but for `reshape` and
 * `sumToShape`, which may hand back their input's data), so a faster kernel can replace one here
 * without touching an op. float32 arrays live in the WebAssembly memory (memory.ts), where the SIMD
 * kernels of wasm.ts read them in place when the install step has built them.
 */
export * from './arrays.ts';
export * from './elementwise.ts';
export * from './matmul.ts';
export * from './reduce.ts';
export * from './rows.ts';
export * from './indexing.ts';
export * from './norm.ts';
export * from './special.ts';
export * from './conv.ts';
export * from './pool.ts';
export * from './einsum.ts';
export * from './optim.ts';
