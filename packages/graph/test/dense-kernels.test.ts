/**
 * The dense WebAssembly products (assembly/matmul.ts: `matmul`, `matmulAT` for a transposed A,
 * `matmulBT` for a transposed B), each build against float32 loops that add in the kernel's own
 * order (the plain SIMD build: bit for bit) and against the TypeScript reference `matmulTS` (both
 * builds: within the float32 error bound of a sum of k products), on random shapes around the block
 * sizes, transposed views, views with offsets and operands from either heap.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import type { NdArray } from '../src/kernels/arrays.ts';
import { kernels, Rng, tensor } from '../src/index.ts';
import { binary } from '../src/kernels/builds.ts';
import { defaultMemory, inMemory } from '../src/kernels/memory.ts';
import { loadKernels } from '../src/kernels/wasm.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20
// Without the kernels' memory (BACKPROP_KERNELS=js) there is no WebAssembly product to test.
const builds = defaultMemory().wasm
  ? [
      { name: 'plain SIMD', fused: false, w: loadKernels(binary('plain'))! },
      { name: 'fused multiply-add', fused: true, w: loadKernels(binary('fused'))! },
    ]
  : [];

const f = Math.fround;

/** Σ_p a[i,p] b[p,j] in float32, p in [from, to) step `step`, each product and each sum rounded (no fused multiply-add). */
function chain(a: NdArray, b: NdArray, i: number, j: number, from: number, to: number, step = 1): number {
  let s = 0;
  for (let p = from; p < to; p += step) s = f(s + f(a.get(i, p) * b.get(p, j)));
  return s;
}

/**
 * C = A B as the plain SIMD build adds: `matmul` and `matmulAT` sum each entry over p in order;
 * `matmulBT` keeps four lanes (p mod 4) over the first k4 = k & ~3 steps, adds them as
 * ((l0 + l1) + l2) + l3, then the tail p in [k4, k) in order.
 */
function inKernelOrder(a: NdArray, b: NdArray, transposedB: boolean): number[] {
  const [m, k] = a.shape,
    n = b.shape[1],
    k4 = k & ~3,
    out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      if (!transposedB) {
        out.push(chain(a, b, i, j, 0, k));
        continue;
      }
      const [l0, l1, l2, l3] = [0, 1, 2, 3].map((l) => chain(a, b, i, j, l, k4, 4));
      const lanes = f(f(f(l0 + l1) + l2) + l3);
      out.push(f(lanes + chain(a, b, i, j, k4, k)));
    }
  return out;
}

type Layout = 'rows' | 'transposed' | 'rows at an offset' | 'transposed at an offset' | 'a block of a wider array';
const layouts: Layout[] = ['rows', 'transposed', 'rows at an offset', 'transposed at an offset', 'a block of a wider array'];

/** A float32 [r, c] operand laid out as `layout`, in the kernels' memory or (jsHeap) in an ordinary Float32Array. */
function operand(rng: Rng, r: number, c: number, layout: Layout, jsHeap: boolean): NdArray {
  const make = (shape: number[]) => {
    const t = rng.randn(shape);
    return (jsHeap ? tensor(Float32Array.from(t.array.data), { shape }) : t).array;
  };
  const skip = 1 + rng.int(3);
  switch (layout) {
    case 'rows':
      return make([r, c]);
    case 'transposed':
      return make([c, r]).transpose(1, 0);
    case 'rows at an offset':
      return make([r + skip, c]).lo(skip, 0);
    case 'transposed at an offset':
      return make([c + skip, r])
        .lo(skip, 0)
        .transpose(1, 0);
    case 'a block of a wider array':
      return make([r, c + skip])
        .lo(0, skip)
        .hi(r, c);
  }
}

/** Which kernel the wrapper in wasm.ts runs for a dense product: Bᵀ by dot products when B is a whole transposed matrix and A is not one in the kernels' memory. */
function readsTransposedB(a: NdArray, b: NdArray): boolean {
  const whole = (x: NdArray) => x.stride[0] === 1 && x.stride[1] === x.shape[0] && x.shape[0] > 1;
  return whole(b) && !(whole(a) && inMemory(a.data));
}

const shapes = fc.record({
  // around the blocks (4x8 rows x columns, 4x2 for Bᵀ, 4 steps of k) and past them
  m: fc.integer({ min: 1, max: 13 }),
  k: fc.integer({ min: 1, max: 21 }),
  n: fc.integer({ min: 1, max: 21 }),
  la: fc.constantFrom(...layouts),
  lb: fc.constantFrom(...layouts),
  jsHeap: fc.boolean(),
  seed: fc.integer(),
});

it('run in both builds unless BACKPROP_KERNELS=js asked for the TypeScript kernels (no memory for them then)', () => {
  expect(builds.map((x) => x.name)).toEqual(process.env.BACKPROP_KERNELS === 'js' ? [] : ['plain SIMD', 'fused multiply-add']);
});

describe.each(builds)('the dense WebAssembly products, $name', ({ fused, w }) => {
  const product = (a: NdArray, b: NdArray) => Array.from(w.matmul(a, b, false)!);

  it(
    fused
      ? 'equal the TypeScript reference within the error bound of float32 sums'
      : 'add in their documented order, bit for bit, and equal the TypeScript reference within the float32 bound',
    () => {
      fc.assert(
        fc.property(shapes, ({ m, k, n, la, lb, jsHeap, seed }) => {
          const rng = Rng.seeded(seed);
          const a = operand(rng, m, k, la, jsHeap),
            b = operand(rng, k, n, lb, jsHeap);
          const got = product(a, b);
          // The fused build too for Bᵀ where k < 8: each of its four lanes then holds one product (a fused
          // multiply-add onto +0 rounds it once, as the plain build's multiply does), so its transpose
          // of the lanes and its tail (assembly/matmul.ts: lanes4, tailDot4) are checked in both builds.
          if (!fused || (k < 8 && readsTransposedB(a, b))) expect(got).toEqual(inKernelOrder(a, b, readsTransposedB(a, b)));
          // A float32 sum of k products in any order, fused or not, is within γ_k Σ|a b| of the exact
          // sum (γ_k = k u / (1 - k u), u = 2^-24); the reference adds in float64 and rounds once
          // (within u |s|). So the two differ by at most (k + 2) u Σ|a b| for these k.
          const want = kernels.matmulTS(a, b).data;
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let scale = 0;
              for (let p = 0; p < k; p++) scale += Math.abs(a.get(i, p) * b.get(p, j));
              expect(Math.abs(got[i * n + j] - want[i * n + j])).toBeLessThanOrEqual((k + 2) * 2 ** -24 * scale);
            }
        }),
        { numRuns: 200 },
      );
    },
  );

  it('sum the last n % 4 columns, and the last m % 4 rows, without fused multiply-adds, in order, bit for bit (four rows at a time in a register: the same bits)', () => {
    // `matmul` and `matmulAT` leave columns past n & ~3 (and rows past m & ~3) to float32 chains,
    // the product rounded, then the sum, in either build: the output layer's n = 10 columns.
    fc.assert(
      fc.property(shapes, ({ m, k, n, la, lb, jsHeap, seed }) => {
        const rng = Rng.seeded(seed);
        const a = operand(rng, m, k, la, jsHeap),
          b = operand(rng, k, n, lb, jsHeap);
        if (readsTransposedB(a, b)) return;
        const got = product(a, b);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) if (j >= (n & ~3) || i >= (m & ~3)) expect(got[i * n + j]).toBe(chain(a, b, i, j, 0, k));
      }),
      { numRuns: 200 },
    );
  });

  it("give the same bits run to run, on the shapes of the paper's network at batch 8", () => {
    const rng = Rng.seeded(16);
    const cases: [NdArray, NdArray][] = [
      [rng.randn([8, 784]).array, rng.randn([784, 800]).array], // X W1
      [rng.randn([8, 784]).array.transpose(1, 0), rng.randn([8, 800]).array], // Xᵀ G1
      [rng.randn([8, 100]).array, rng.randn([800, 100]).array.transpose(1, 0)], // G2 W2ᵀ
    ];
    const bytes = (c: Float32Array) => Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    for (const [a, b] of cases) {
      const first = w.matmul(a, b, false)!.slice(),
        again = w.matmul(a, b, false)!;
      expect(bytes(again).equals(bytes(first))).toBe(true);
      expect(first.every(Number.isFinite)).toBe(true);
    }
  });
});
