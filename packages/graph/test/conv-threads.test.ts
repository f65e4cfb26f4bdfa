/**
 * The convolution's and pooling's pieces on the kernel threads (kernels/wasm.ts): the direct
 * convolution, im2col and col2im split by samples, the pooling kernels by planes, the weights'
 * gradient product by columns; on random shapes (fast-check, seed printed on failure), 2 and 3
 * threads give the bits of one thread, with every call split however small (setPartWork(1)).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { kernels, Rng, setThreads, runningThreads, tidy } from '../src/index.ts';
import type { NdArray } from '../src/kernels/arrays.ts';
import { allocateF32, defaultMemory } from '../src/kernels/memory.ts';
import { setPartWork } from '../src/kernels/threads.ts';
import { float32Kernels } from '../src/kernels/wasm.ts';
import ndarray from 'ndarray';

const hasMemory = defaultMemory().wasm !== null;
let oldWork = 0;
beforeAll(() => {
  oldWork = setPartWork(1);
});
afterAll(async () => {
  setPartWork(oldWork);
  await setThreads(1);
});

const bits = (x: NdArray) => Array.from(new Uint32Array(new Float32Array(kernels.contiguous(x, 'float32').data as Float32Array).buffer));

const shapeArb = fc.record({
  n: fc.integer({ min: 1, max: 7 }),
  c: fc.integer({ min: 1, max: 4 }),
  f: fc.integer({ min: 1, max: 9 }),
  h: fc.integer({ min: 2, max: 13 }),
  w: fc.integer({ min: 2, max: 13 }),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 5 }),
  s: fc.integer({ min: 1, max: 2 }),
  p: fc.integer({ min: 0, max: 2 }),
  step: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer(),
});
type Shape = typeof shapeArb extends fc.Arbitrary<infer T> ? T : never;

/** Every convolution and pooling kernel's output bits on one shape, float32 in the kernels' memory. */
function outputs(c: Shape): number[][] {
  return tidy(() => {
    const rng = Rng.seeded(c.seed);
    const kh = Math.min(c.kh, c.h + 2 * c.p),
      kw = Math.min(c.kw, c.w + 2 * c.p);
    const oh = kernels.convOutputSize(c.h, kh, c.s, c.p, 1),
      ow = kernels.convOutputSize(c.w, kw, c.s, c.p, 1);
    const g = { n: c.n, c: c.c, h: c.h, w: c.w, f: c.f, kh, kw, groups: 1, sh: c.s, sw: c.s, ph: c.p, pw: c.p, dh: 1, dw: 1, oh, ow };
    const t = (shape: number[]) => rng.tensor(shape, (r) => r.normal(), { dtype: 'float32' }).array;
    const x = t([c.n, c.c, c.h, c.w]),
      w = t([c.f, c.c, kh, kw]),
      b = t([c.f]),
      gy = t([c.n, c.f, oh, ow]);
    // pooling: windows no larger than the input, padding at most half a window
    const pk = Math.min(c.kh, c.h, c.w, 3),
      pp = Math.min(c.p, Math.floor(pk / 2));
    const po = (size: number) => Math.floor((size + 2 * pp - pk) / c.s) + 1;
    const pg = { n: c.n, c: c.c, h: c.h, w: c.w, kh: pk, kw: pk, sh: c.s, sw: c.s, ph: pp, pw: pp, oh: po(c.h), ow: po(c.w) };
    const max = kernels.maxPool2d(x, pg);
    const pgy = t([c.n, c.c, pg.oh, pg.ow]);
    return [
      bits(kernels.conv2d(x, w, g, b)), // the direct kernel where it applies
      bits(kernels.conv2d(x, w, g, b, c.step, false)), // im2col and the product
      bits(kernels.conv2dBackwardInput(gy, w, g, c.step)), // the product and col2im
      bits(kernels.conv2dBackwardWeight(x, gy, g, c.step)), // im2col and G colsᵀ
      bits(max.values),
      Array.from(max.argmax),
      bits(kernels.avgPool2d(x, pg, c.p % 2 === 0)),
      bits(kernels.avgPool2dBackward(pgy, pg, c.p % 2 === 0)),
    ];
  });
}

describe('convolution and pooling on the kernel threads', () => {
  it('1, 2 and 3 threads give the bits of one thread (fast-check over shapes)', async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const cases = fc.sample(shapeArb, 40);
    const results: number[][][][] = [];
    for (const threads of [1, 2, 3]) {
      await setThreads(threads);
      expect(runningThreads()).toBe(threads);
      results.push(cases.map(outputs));
    }
    cases.forEach((c, i) => {
      expect(results[1][i], JSON.stringify(c)).toEqual(results[0][i]);
      expect(results[2][i], JSON.stringify(c)).toEqual(results[0][i]);
    });
  }, 120_000);

  it("the weights' gradient read across samples (matmulBTSamples) gives matmul's bits on the rows copied, on 1, 2 and 3 threads", async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    // G [N, F, P] of which rows [f0, f0 + m) are read, B [n, N·P]; P a multiple of 4 (the kernel's condition)
    const cases = fc.sample(
      fc.record({
        samples: fc.integer({ min: 1, max: 6 }),
        F: fc.integer({ min: 1, max: 19 }),
        p4: fc.integer({ min: 1, max: 30 }),
        n: fc.integer({ min: 4, max: 31 }),
        f0: fc.integer({ min: 0, max: 18 }),
        m: fc.integer({ min: 1, max: 19 }),
        seed: fc.integer(),
      }),
      40,
    );
    const w = float32Kernels(new Float32Array(1))!;
    const run = (c: (typeof cases)[number]) =>
      tidy(() => {
        const rng = Rng.seeded(c.seed),
          P = 4 * c.p4,
          k = c.samples * P,
          f0 = Math.min(c.f0, c.F - 1),
          m = Math.min(c.m, c.F - f0);
        const G = allocateF32(c.samples * c.F * P),
          B = allocateF32(c.n * k),
          m4 = 4 * Math.ceil(m / 4), // conv2dBackwardWeight's rows: the copy is padded with zero rows to a multiple of 4
          rows = allocateF32(m4 * k).fill(0);
        if (m4 * k * c.n < 4096) return null; // a product that small runs in TypeScript, and conv2dBackwardWeight copies G for it
        // zeros of both signs, NaN and infinities among normal values
        const value = () => (rng.uniform() < 0.1 ? [0, -0, Number.NaN, Infinity, -Infinity][Math.floor(5 * rng.uniform())] : rng.normal());
        for (let i = 0; i < G.length; i++) G[i] = value();
        for (let i = 0; i < B.length; i++) B[i] = value();
        for (let i = 0; i < m; i++) for (let s = 0; s < c.samples; s++) rows.set(G.subarray((s * c.F + f0 + i) * P, (s * c.F + f0 + i + 1) * P), i * k + s * P);
        const got = w.matmulBTSamples(G.subarray(f0 * P), B, m, k, c.n, P, c.F * P)!;
        // arguments that would read past G or B, or rows past a sample, are refused (null), not read
        const need = (m - 1) * P + (c.samples - 1) * c.F * P + P;
        expect(w.matmulBTSamples(G.subarray(f0 * P, f0 * P + need - 1), B, m, k, c.n, P, c.F * P)).toBeNull();
        expect(w.matmulBTSamples(G.subarray(f0 * P), B.subarray(1), m, k, c.n, P, c.F * P)).toBeNull();
        expect(w.matmulBTSamples(G.subarray(f0 * P), B, m, k, c.n, P, m * P - 4)).toBeNull();
        const want = kernels.matmul(ndarray(rows, [m4, k]), ndarray(B, [c.n, k]).transpose(1, 0));
        // every bit but a NaN's sign and payload, which WebAssembly leaves open (an add of two NaNs may
        // return either, and V8 may swap an add's operands): the two kernels' NaNs can differ in sign
        const anyNaN = (u: number) => ((u & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : u);
        return [
          Array.from(new Uint32Array(got.buffer, got.byteOffset, got.length), anyNaN),
          bits(want)
            .slice(0, m * c.n)
            .map(anyNaN),
        ];
      });
    let compared = 0;
    for (const threads of [1, 2, 3]) {
      await setThreads(threads);
      cases.forEach((c) => {
        const pair = run(c);
        if (!pair) return;
        compared++;
        expect(pair[0], JSON.stringify(c)).toEqual(pair[1]);
      });
    }
    expect(compared).toBeGreaterThan(3 * 15);
  }, 120_000);
});
