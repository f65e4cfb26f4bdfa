/**
 * The WebAssembly kernels of LeNet's step besides the products (relu and its gradient, ...), each
 * build against the TypeScript reference, on random lengths and values with the awkward ones mixed
 * in (NaN, ±Infinity, ±0): bit for bit, since each kernel does the reference's arithmetic in its order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { kernels, Rng, tensor, type Tensor } from '../src/index.ts';
import { binary } from '../src/kernels/builds.ts';
import { allocateF32, defaultMemory } from '../src/kernels/memory.ts';
import { loadKernels } from '../src/kernels/wasm.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20
const builds = defaultMemory().wasm
  ? [
      { name: 'plain SIMD', w: loadKernels(binary('plain'))! },
      { name: 'fused multiply-add', w: loadKernels(binary('fused'))! },
    ]
  : [];

const special = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45];

/** n float32s in the kernels' memory: normal draws with about one in five replaced by a special value. */
function values(rng: Rng, n: number): Float32Array {
  const out = allocateF32(n, false);
  for (let i = 0; i < n; i++) out[i] = rng.int(5) === 0 ? special[rng.int(special.length)] : rng.normal();
  return out;
}

/** The bits of a float32 array, so that -0 differs from 0; every NaN as one (its sign and payload are whatever the processor makes, Inf - Inf). */
const bits = (x: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(x).buffer), (b, i) => (Number.isNaN(x[i]) ? 0x7fc00000 : b));
const reference = (x: Float32Array): Tensor => tensor(Float64Array.from(x), { shape: [x.length] });

it('run in both builds unless BACKPROP_KERNELS=js asked for the TypeScript kernels', () => {
  expect(builds.map((b) => b.name)).toEqual(process.env.BACKPROP_KERNELS === 'js' ? [] : ['plain SIMD', 'fused multiply-add']);
});

describe.each(builds)('elementwise kernels of a CNN, $name', ({ w }) => {
  const lengths = fc.record({ n: fc.integer({ min: 0, max: 41 }), seed: fc.integer() });

  it('relu: the bits of x > 0 ? x : 0 (NaN and -0 give +0)', () => {
    fc.assert(
      fc.property(lengths, ({ n, seed }) => {
        const x = values(Rng.seeded(seed), n);
        expect(bits(w.relu(x)!)).toEqual(bits(kernels.relu(reference(x).array).data));
      }),
      { numRuns: 200 },
    );
  });

  it('reluGrad: the bits of g · (x > 0 ? 1 : 0) (an infinite g where x <= 0 gives NaN, a negative g -0)', () => {
    fc.assert(
      fc.property(lengths, ({ n, seed }) => {
        const rng = Rng.seeded(seed);
        const g = values(rng, n),
          x = values(rng, n);
        expect(bits(w.reluGrad(g, x)!)).toEqual(bits(kernels.reluGrad(reference(g).array, reference(x).array).data));
      }),
      { numRuns: 200 },
    );
  });
});

describe.each(builds)('pooling kernels of a CNN, $name', ({ w }) => {
  it('maxPool 2x2 at stride 2 (its own loop): the maxima and first-maximum indices of the TypeScript loop, with ties, NaN and -Infinity', () => {
    fc.assert(
      fc.property(
        fc.record({ planes: fc.integer({ min: 1, max: 5 }), h: fc.integer({ min: 2, max: 12 }), w: fc.integer({ min: 2, max: 21 }), seed: fc.integer() }),
        ({ planes, h, w: width, seed }) => {
          const rng = Rng.seeded(seed);
          const few = [-1, 0, 1, 2, -Infinity, Number.NaN]; // few distinct values: ties in most windows
          const x = allocateF32(planes * h * width, false);
          for (let i = 0; i < x.length; i++) x[i] = few[rng.int(few.length)];
          const g = { n: 1, c: planes, h, w: width, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, oh: h >> 1, ow: width >> 1 };
          const out = allocateF32(planes * g.oh * g.ow, false);
          const at = w.maxPool(x, out, g)!;
          const want = kernels.maxPool2d(tensor(Float64Array.from(x), { shape: [1, planes, h, width] }).array, g);
          expect(bits(out)).toEqual(bits(want.values.data));
          expect(Array.from(at)).toEqual(Array.from(want.argmax));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("scatterAdd (maxPool2d's backward): zeros with each v[o] added at index[o] in the order of o, repeats added up, indices outside skipped and counted", () => {
    fc.assert(
      fc.property(fc.record({ count: fc.integer({ min: 0, max: 60 }), size: fc.integer({ min: 1, max: 30 }), seed: fc.integer() }), ({ count, size, seed }) => {
        const rng = Rng.seeded(seed);
        const v = values(rng, count),
          index = Int32Array.from({ length: count }, () => rng.int(size + 4) - 2); // a few outside [0, size)
        const out = allocateF32(size, false);
        out.fill(Number.NaN); // the kernel zeroes it
        const outside = w.scatterAdd(v, index, out);
        const want = new Float32Array(size); // the plain loop, each sum rounded to float32 as it is stored
        for (let o = 0; o < count; o++) if (index[o] >= 0 && index[o] < size) want[index[o]] += v[o];
        expect(bits(out)).toEqual(bits(want));
        expect(outside).toBe(index.filter((i) => i < 0 || i >= size).length);
        // the kernels' entry point (either build's loop, or TypeScript's) counts the same
        expect(kernels.scatterAddInside(tensor(v, { shape: [count] }).array, index, [size]).outside).toBe(outside);
      }),
      { numRuns: 200 },
    );
  });
});

/** A stride-1 convolution's sizes as fast-check draws them (the geometry the direct kernel takes). */
const convShapes = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    c: fc.integer({ min: 1, max: 4 }),
    f: fc.integer({ min: 1, max: 9 }),
    h: fc.integer({ min: 1, max: 13 }),
    w: fc.integer({ min: 1, max: 21 }),
    kh: fc.integer({ min: 1, max: 5 }),
    kw: fc.integer({ min: 1, max: 5 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    bias: fc.boolean(),
    seed: fc.integer(),
  })
  .filter((s) => s.kh <= s.h + 2 * s.ph && s.kw <= s.w + 2 * s.pw)
  .map((s) => {
    const oh = s.h + 2 * s.ph - s.kh + 1,
      ow = s.w + 2 * s.pw - s.kw + 1;
    return { ...s, g: { n: s.n, c: s.c, h: s.h, w: s.w, f: s.f, kh: s.kh, kw: s.kw, groups: 1, sh: 1, sw: 1, ph: s.ph, pw: s.pw, dh: 1, dw: 1, oh, ow } };
  });

/** float32 normal draws in the kernels' memory, as a [shape] array. */
const draws = (rng: Rng, shape: number[]) => rng.randn(shape).array;

describe.each(builds)('the direct convolution, $name', ({ name, w: kernel }) => {
  it(name === 'plain SIMD'
    ? 'sums w x over c, i, j in order, then adds the bias, each product and sum rounded to float32: bit for bit'
    : 'equals the float64 sums within the bound of float32 sums of K + 1 terms', () => {
    fc.assert(
      fc.property(convShapes, ({ g, bias, seed }) => {
        const rng = Rng.seeded(seed);
        const x = draws(rng, [g.n, g.c, g.h, g.w]),
          w = draws(rng, [g.f, g.c, g.kh, g.kw]),
          b = bias ? draws(rng, [g.f]) : null;
        const out = allocateF32(g.n * g.f * g.oh * g.ow, false);
        expect(kernel.convDirect(x.data as Float32Array, w.data as Float32Array, b ? (b.data as Float32Array) : null, out, g, 0, g.n)).toBe(true);
        const f = Math.fround,
          at = (n: number, c: number, y: number, xx: number) => (y < 0 || y >= g.h || xx < 0 || xx >= g.w ? 0 : x.get(n, c, y, xx));
        for (let n = 0, o = 0; n < g.n; n++)
          for (let q = 0; q < g.f; q++)
            for (let oy = 0; oy < g.oh; oy++)
              for (let ox = 0; ox < g.ow; ox++, o++) {
                let s = 0,
                  exact = 0,
                  scale = 0;
                for (let c = 0; c < g.c; c++)
                  for (let i = 0; i < g.kh; i++)
                    for (let j = 0; j < g.kw; j++) {
                      const p = w.get(q, c, i, j) * at(n, c, oy - g.ph + i, ox - g.pw + j);
                      s = f(s + f(p));
                      exact += p;
                      scale += Math.abs(p);
                    }
                if (b) {
                  s = f(s + b.get(q));
                  exact += b.get(q);
                  scale += Math.abs(b.get(q));
                }
                if (name === 'plain SIMD') expect(bits([out[o]])).toEqual(bits([s]));
                else expect(Math.abs(out[o] - exact)).toBeLessThanOrEqual((g.c * g.kh * g.kw + 3) * 2 ** -24 * scale);
              }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

it("conv2d's direct kernel gives the bits of its product over im2col's matrix (in the build that runs) on every shape", () => {
  fc.assert(
    fc.property(convShapes, ({ g, bias, seed }) => {
      const rng = Rng.seeded(seed);
      const x = draws(rng, [g.n, g.c, g.h, g.w]),
        w = draws(rng, [g.f, g.c, g.kh, g.kw]),
        b = bias ? draws(rng, [g.f]) : undefined;
      // in chunks of one to n samples (the direct kernel runs where every chunk's product runs in SIMD blocks)
      const step = 1 + ((seed >>> 0) % g.n);
      const viaDirect = kernels.conv2d(x, w, g, b, step, true),
        viaProduct = kernels.conv2d(x, w, g, b, step, false);
      expect(bits(viaDirect.data)).toEqual(bits(viaProduct.data));
    }),
    { numRuns: 100 },
  );
}, 120_000);
