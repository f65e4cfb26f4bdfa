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
  const matmul = instance.exports.matmul as (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  return {
    matmul(a, b) {
      const [m, k] = a.shape, n = b.shape[1];
      const bytes = 4 * (m * k + k * n + m * n);
      if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
      const f32 = new Float32Array(memory.buffer);
      // Copy each operand row-major into the module's memory (ndarray-ops walks any strides).
      ops.assign(ndarray(f32.subarray(0, m * k), [m, k]), a);
      ops.assign(ndarray(f32.subarray(m * k, m * k + k * n), [k, n]), b);
      matmul(0, 4 * m * k, 4 * (m * k + k * n), m, k, n);
      return f32.slice(m * k + k * n, m * k + k * n + m * n);
    },
  };
}

/** The loaded kernels, or null: the TypeScript kernels then do the work. */
export const wasm: WasmKernels | null = load();
