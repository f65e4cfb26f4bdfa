/**
 * The sparse product by pairs of rows (assembly/pairs.ts, combinePairsWritten), which serves Xᵀ G
 * at batch 128 (64 < k <= 128, n a multiple of 16): in each build it gives the bits of the product
 * one row at a time (combineRowsWritten), and the same rows written, at 1, 2 and 3 threads. Random
 * shapes (fast-check, seed printed), rows non-zero in mostly the same places as their neighbours
 * (as pixels are), NaN, ±Infinity and ±0 in A and B, and values so small that a product of
 * non-zeros could round to zero: the terms 0 · b a pair adds would then change bits (0 · Infinity
 * is NaN; a sum rounded to -0 would become +0), so a B that is not finite takes the rows kernel,
 * and a group of rows whose products could be that small takes its rows one at a time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { Rng, setThreads } from '../src/index.ts';
import type { NdArray } from '../src/kernels/arrays.ts';
import { binary } from '../src/kernels/builds.ts';
import { defaultMemory } from '../src/kernels/memory.ts';
import { setPartWork } from '../src/kernels/threads.ts';
import { loadKernels, pairProductCount, setPairRows, type WasmKernels } from '../src/kernels/wasm.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20
const builds = defaultMemory().wasm
  ? [
      { name: 'plain SIMD', w: loadKernels(binary('plain'))! },
      { name: 'fused multiply-add', w: loadKernels(binary('fused'))! },
    ]
  : [];
afterAll(async () => {
  setPairRows(true);
  await setThreads(1);
});

interface Case {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  specials: 'none' | 'A' | 'B';
  tiny: 'none' | 'A' | 'B';
  seed: number;
}

/** A [m, k] (or, transA, the transpose of a stored [k, m]) whose rows are non-zero in runs around a centre per column, and B [k, n]. */
function operands(c: Case): { a: NdArray; b: NdArray } {
  const r = Rng.seeded(c.seed);
  const special = () => [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY][Math.floor(r.uniform() * 3)];
  const centre = Array.from({ length: c.k }, () => r.uniform() * c.m),
    radius = Array.from({ length: c.k }, () => 1 + r.uniform() * c.m * 0.4);
  const value = (i: number, p: number) => {
    if (Math.abs(i - centre[p]) > radius[p] || r.uniform() < 0.2) return r.uniform() < 0.1 ? -0 : 0;
    if (c.specials === 'A' && r.uniform() < 0.02) return special();
    return r.normal();
  };
  const stored = c.transA ? r.tensor([c.k, c.m], () => 0, { dtype: 'float32' }) : r.tensor([c.m, c.k], () => 0, { dtype: 'float32' });
  const A = c.transA ? stored.array.transpose(1, 0) : stored.array;
  for (let i = 0; i < c.m; i++) for (let p = 0; p < c.k; p++) A.set(i, p, value(i, p));
  if (c.tiny === 'A') A.set(Math.floor(r.uniform() * c.m), Math.floor(r.uniform() * c.k), 1e-30);
  const B = r.tensor([c.k, c.n], (q) => (q.uniform() < 0.1 ? 0 : q.normal()), { dtype: 'float32' }).array;
  if (c.specials === 'B') for (let t = 0; t < 3; t++) B.set(Math.floor(r.uniform() * c.k), Math.floor(r.uniform() * c.n), special());
  if (c.tiny === 'B') B.set(Math.floor(r.uniform() * c.k), Math.floor(r.uniform() * c.n), -1e-30);
  return { a: A, b: B };
}

/** The written rows of C = A B by `w.matmulRows` (its other rows hold whatever was there), NaN as 'NaN', and the rows' list. */
function product(w: WasmKernels, a: NdArray, b: NdArray): string[] {
  const { C, rows } = w.matmulRows(a, b)!;
  const n = b.shape[1],
    out = [`rows ${Array.from(rows).join(',')}`];
  for (const i of rows) {
    const row = C.subarray(i * n, (i + 1) * n);
    out.push(Array.from(new Uint32Array(row.buffer, row.byteOffset, n), (u, j) => (Number.isNaN(row[j]) ? 'NaN' : String(u))).join(','));
  }
  return out;
}

describe('the sparse product by pairs of rows', () => {
  it('gives the bits and rows of the product one row at a time, in each build, at 1, 2 and 3 threads (fast-check over shapes and values)', async () => {
    if (!builds.length) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const shape = fc.record({
      m: fc.integer({ min: 1, max: 100 }),
      k: fc.integer({ min: 65, max: 128 }),
      n: fc.constantFrom(16, 48, 96, 160, 800),
      transA: fc.boolean(),
      specials: fc.constantFrom('none' as const, 'none' as const, 'A' as const, 'B' as const),
      tiny: fc.constantFrom('none' as const, 'none' as const, 'A' as const, 'B' as const),
      seed: fc.integer(),
    });
    const cases = fc.sample(shape, 40); // with the suite's seed (printed; FC_SEED replays it)
    for (const { name, w } of builds) {
      const oldWork = setPartWork(1); // split however small
      try {
        for (const c of cases) {
          const { a, b } = operands(c);
          setPairRows(false);
          await setThreads(1);
          const rows = product(w, a, b);
          setPairRows(true);
          const before = pairProductCount();
          for (const threads of [1, 2, 3]) {
            await setThreads(threads);
            expect(product(w, a, b), `${name}, ${threads} threads: ${JSON.stringify(c)}`).toEqual(rows);
          }
          // pairs ran unless B is not finite (a tiny value makes the kernel take its group's rows alone)
          expect(pairProductCount() - before, `${name}: ${JSON.stringify(c)}`).toBe(c.specials === 'B' ? 0 : 3);
        }
      } finally {
        setPartWork(oldWork);
        setPairRows(true);
      }
    }
  }, 240_000);

  it('keeps a -0 that a product rounded to (the fused build), where a pair would have added +0 to it', () => {
    if (!builds.length) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    // row 0: one non-zero, 1e-30, times B's row 0, -1e-20: the fused multiply-add rounds -1e-50 to -0;
    // row 1 is non-zero in B's rows 0 and 1, so a pair would add 0 · 1 to row 0's sum, making it +0
    const r = Rng.seeded(1);
    const a = r.tensor([2, 70], () => 0, { dtype: 'float32' }).array,
      b = r.tensor([70, 16], () => 0, { dtype: 'float32' }).array;
    a.set(0, 0, 1e-30);
    a.set(1, 0, 1);
    a.set(1, 1, 1);
    for (let j = 0; j < 16; j++) {
      b.set(0, j, -1e-20);
      b.set(1, j, 1);
    }
    for (const { name, w } of builds) {
      setPairRows(false);
      const rows = product(w, a, b);
      setPairRows(true);
      const before = pairProductCount();
      expect(product(w, a, b), name).toEqual(rows);
      expect(pairProductCount() - before).toBe(1);
      const { C } = w.matmulRows(a, b)!;
      expect(Object.is(C[0], -0), `${name}: C[0] is ${Object.is(C[0], -0) ? '-0' : C[0]}`).toBe(name === 'fused multiply-add');
    }
  });
});
