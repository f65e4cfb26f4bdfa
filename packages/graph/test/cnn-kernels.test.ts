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

/** The bits of a float32 array, so that NaN equals NaN and -0 differs from 0. */
const bits = (x: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(x).buffer));
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
  it("scatterAdd (maxPool2d's backward): zeros with each v[o] added at index[o] in the order of o, repeats added up, indices past the end skipped", () => {
    fc.assert(
      fc.property(fc.record({ count: fc.integer({ min: 0, max: 60 }), size: fc.integer({ min: 1, max: 30 }), seed: fc.integer() }), ({ count, size, seed }) => {
        const rng = Rng.seeded(seed);
        const v = values(rng, count),
          index = Int32Array.from({ length: count }, () => rng.int(size + 4) - 2); // a few outside [0, size)
        const out = allocateF32(size, false);
        out.fill(Number.NaN); // the kernel zeroes it
        expect(w.scatterAdd(v, index, out)).toBe(true);
        const want = new Float32Array(size); // the plain loop, each sum rounded to float32 as it is stored
        for (let o = 0; o < count; o++) if (index[o] >= 0 && index[o] < size) want[index[o]] += v[o];
        expect(bits(out)).toEqual(bits(want));
      }),
      { numRuns: 200 },
    );
  });
});
