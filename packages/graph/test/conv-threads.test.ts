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
import { defaultMemory } from '../src/kernels/memory.ts';
import { setPartWork } from '../src/kernels/threads.ts';

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
});
