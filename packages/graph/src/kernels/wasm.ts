/**
 * The WebAssembly kernels (128-bit SIMD, from packages/graph/assembly/*.ts, compiled by AssemblyScript
 * in the install step), for float32. Operands are copied into the module's memory, strides and all,
 * and the result copied out. When the compiled module is missing, or BACKPROP_KERNELS=js, `wasm` is
 * null and matmul.ts uses its TypeScript kernels, which stay the reference in tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import type { NdArray } from '../tensor.ts';

const PAGE = 65536;

export interface WasmKernels {
  /** C = A B for float32 A [m,k] and B [k,n] of any strides: a fresh row-major C. */
  matmul(a: NdArray, b: NdArray): Float32Array;
}

function load(): WasmKernels | null {
  const path = new URL('../../build/kernels.wasm', import.meta.url);
  if (process.env.BACKPROP_KERNELS === 'js' || !existsSync(path)) return null;
  const memory = new WebAssembly.Memory({ initial: 64 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {
    env: { memory, abort: () => { throw new Error('wasm kernel aborted'); } },
  });
  type Kernel = (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  const { matmul, matmulBT } = instance.exports as Record<string, Kernel>;
  return {
    matmul(a, b) {
      const [m, k] = a.shape, n = b.shape[1];
      const bytes = 4 * (m * k + k * n + m * n);
      if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
      const f32 = new Float32Array(memory.buffer);
      // A transposed B (B = Wᵀ, large) is copied as it is stored and read by a kernel for that layout;
      // anything else is copied row-major (a transposed A, Xᵀ or Hᵀ, is small at batch 8).
      const kernel = isTransposed(b) ? matmulBT : matmul;
      copyIn(f32, 0, a);
      copyIn(f32, m * k, kernel === matmulBT ? b.transpose(1, 0) : b);
      kernel(0, 4 * m * k, 4 * (m * k + k * n), m, k, n);
      return f32.slice(m * k + k * n, m * k + k * n + m * n);
    },
  };
}

/** A transposed view of a row-major matrix: columns contiguous. */
const isTransposed = (x: NdArray) => x.stride[0] === 1 && x.stride[1] === x.shape[0] && x.shape[0] > 1;

/** Copies a float32 matrix row-major into the module's memory at element `at`: a memcpy when contiguous. */
function copyIn(memory: Float32Array, at: number, x: NdArray): void {
  const [rows, cols] = x.shape;
  if (x.stride[1] === 1 && x.stride[0] === cols) memory.set(x.data.subarray(x.offset, x.offset + rows * cols), at);
  else ops.assign(ndarray(memory.subarray(at, at + rows * cols), [rows, cols]), x); // ndarray-ops walks any strides
}

/** The loaded kernels, or null: the TypeScript kernels then do the work. */
export const wasm: WasmKernels | null = load();
