import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { kernels, Rng, Tape, tensor, tidy, zeros } from '../src/index.ts';
import { setFlagsFromString } from 'node:v8';
import { binary, type Build } from '../src/kernels/builds.ts';
import { defaultMemory, inMemory } from '../src/kernels/memory.ts';
import { kernelsName, loadKernels, wasmKernels } from '../src/kernels/wasm.ts';

const wasm = wasmKernels();
const memory = defaultMemory().wasm;

describe('Tensor', () => {
  it('builds from nested arrays, numbers and typed arrays', () => {
    expect(tensor(3).shape).toEqual([]);
    expect(tensor(3).item()).toBe(3);
    expect(tensor([1, 2]).shape).toEqual([2]);
    const m = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'float64' },
    );
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe('float64');
    expect(m.get(1, 2)).toBe(6);
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const shared = tensor(data, { shape: [3, 2] });
    data[5] = 60;
    expect(shared.get(2, 1)).toBe(60);
    expect(zeros([2, 2]).toArray()).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('rejects ragged arrays and shapes the data does not fill', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow('tensor: ragged nested array: row 0 has shape [2] but row 1 has [1]');
    expect(() => tensor(new Float32Array(5), { shape: [2, 3] })).toThrow('tensor: 5 values do not fill shape [2,3] (6 needed)');
  });

  it('transposes in O(1): a view that shares memory', () => {
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const t = m.T;
    expect(t.array.data).toBe(m.array.data);
    expect(t.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(t.clone().toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(() => tensor([1], { requiresGrad: true }).T).toThrow('use tape.transpose(x)');
  });

  it('prints readably', () => {
    expect(
      tensor(
        [
          [1, 0.5],
          [2, -3.25],
        ],
        { dtype: 'float64' },
      ).toString(),
    ).toBe('Tensor([2,2] float64) [[1.0, 0.5],\n [2.0, -3.25]]');
    expect(tensor(0.125).toString()).toBe('Tensor([] float32) 0.125');
    expect(zeros([20]).toString()).toBe('Tensor([20] float32) [0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0]');
  });
});

/** The textbook triple loop, through get/set: the reference for the matmul kernel. */
function naiveMatmul(a: ndarray.NdArray, b: ndarray.NdArray): number[] {
  const [m, k] = a.shape,
    n = b.shape[1];
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
      out.push(s);
    }
  return out;
}

describe('kernels.matmul', () => {
  it('equals the textbook loops for random shapes, sparsity and transposed views', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 0.5, 0.9),
        fc.integer(),
        (m, k, n, transA, transB, zeros, seed) => {
          const rng = Rng.seeded(seed);
          // Dense, half zeros, or MNIST-like (90% zeros): the tiled and the sparse-row paths.
          const draw = () => (rng.uniform() < zeros ? 0 : rng.normal());
          const a = transA ? rng.tensor([k, m], draw, { dtype: 'float64' }).T : rng.tensor([m, k], draw, { dtype: 'float64' });
          const b = transB ? rng.tensor([n, k], draw, { dtype: 'float64' }).T : rng.tensor([k, n], draw, { dtype: 'float64' });
          const got = Array.from(kernels.matmul(a.array, b.array).data);
          const want = naiveMatmul(a.array, b.array);
          got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
        },
      ),
    );
  });
});

// The compiled builds are required in CI (CI=true) and unless BACKPROP_KERNELS=js asks for the TypeScript
// kernels: a build that is missing or does not compile fails the suite, rather than leaving the kernel
// tests below with nothing to run.
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const builds = [
  ['plain SIMD', 'plain'],
  ['fused multiply-add', 'fused'],
] as const;
const rebuild = 'run npm run build:wasm (or set BACKPROP_KERNELS=js for the TypeScript kernels)';

/** Compiles an embedded build; throws, naming it, when it does not compile. */
function compile(build: Build): WebAssembly.Module {
  setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20, even with BACKPROP_KERNELS=simd
  try {
    return new WebAssembly.Module(binary(build));
  } catch (e) {
    throw new Error(`the ${build} build (packages/graph/src/kernels/binaries.ts) does not compile (${(e as Error).message}): ${rebuild}`);
  }
}

describe('the WebAssembly kernels', () => {
  it('are built by the install step, fused where this Node compiles relaxed SIMD (unless BACKPROP_KERNELS says otherwise)', () => {
    expect(wasm !== null).toBe(process.env.BACKPROP_KERNELS !== 'js');
    if (wasm) expect(kernelsName()).toBe(process.env.BACKPROP_KERNELS === 'simd' ? 'WebAssembly SIMD' : 'WebAssembly SIMD with fused multiply-add');
  });

  it('both builds are there and compile (in CI even when BACKPROP_KERNELS=js)', () => {
    const required = inCI || process.env.BACKPROP_KERNELS !== 'js';
    const compiled = required ? builds.map(([, build]) => compile(build)) : [];
    expect(compiled.map((m) => WebAssembly.Module.exports(m).some((e) => e.name === 'matmul'))).toEqual(required ? [true, true] : []);
  });
});

// Both builds against the TypeScript loops, whenever the kernels' memory exists: one that fails to load
// fails the file here (with the error above), not silently dropped.
const variants = memory ? builds.map(([name, build]) => ({ name, kernels: loadKernels(compile(build))! })) : [];

describe.each(variants)('the WebAssembly matmul, $name', ({ kernels: wasm }) => {
  it('equals the TypeScript reference kernel on random float32 shapes, strides, sparsity, both kernels and operands from either heap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 0.8),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (m, k, n, transA, transB, zeros, sparse, jsHeap, seed) => {
          const rng = Rng.seeded(seed);
          const draw = () => (rng.uniform() < zeros ? 0 : rng.normal());
          // an ordinary Float32Array (copied in by the kernel) or one in the kernels' memory (read in place)
          const make = (shape: number[]) => {
            const t = rng.tensor(shape, draw);
            return jsHeap ? tensor(Float32Array.from(t.array.data), { shape }) : t;
          };
          const a = transA ? make([k, m]).T : make([m, k]);
          const b = transB ? make([n, k]).T : make([k, n]);
          expect(inMemory(a.array.data)).toBe(!jsHeap);
          const got = wasm!.matmul(a.array, b.array, sparse)!;
          expect(inMemory(got)).toBe(true);
          const want = kernels.matmulTS(a.array, b.array).data;
          // float32 sums in another order: within a few ulps of the sum of |a b|.
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let scale = 0;
              for (let p = 0; p < k; p++) scale += Math.abs(a.get(i, p) * b.get(p, j));
              expect(Math.abs(got[i * n + j] - want[i * n + j])).toBeLessThanOrEqual(1e-6 * k * scale + 1e-30);
            }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("the sparse-row kernel: each column has the bits its group of four gets alone (blocks of 28, the last moved back, sum as one accumulator does), and in the plain build those of a float32 sum over the row's non-zeros in order (zeros scattered or in runs, -0 among them)", () => {
    const plain = wasm === variants[0]?.kernels;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 130 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (m, k, n, transA, runs, seed) => {
          const rng = Rng.seeded(seed);
          // or zeros in runs, as an image's (the kernel passes over 16 +0s at once), with -0s that count as zeros
          let left = 0;
          const inRuns = () => {
            if (left-- > 0) return 0;
            if (rng.uniform() < 0.1) left = Math.floor(40 * rng.uniform());
            return rng.uniform() < 0.1 ? -0 : rng.normal();
          };
          const draw = runs ? inRuns : () => (rng.uniform() < 0.8 ? 0 : rng.normal());
          const a = transA ? rng.tensor([k, m], draw).T : rng.tensor([m, k], draw);
          const B = rng.randn([k, n]).array.data as Float32Array;
          const product = (j0: number, j1: number) => {
            const cols = Float32Array.from({ length: k * (j1 - j0) }, (_, i) => B[Math.floor(i / (j1 - j0)) * n + j0 + (i % (j1 - j0))]);
            return wasm!.matmul(a.array, tensor(cols, { shape: [k, j1 - j0] }).array, true)!;
          };
          const got = product(0, n);
          const n4 = n & ~3;
          for (let j0 = 0; j0 < n; j0 += j0 < n4 ? 4 : 1) {
            const w = j0 < n4 ? 4 : 1,
              alone = product(j0, j0 + w);
            for (let i = 0; i < m; i++)
              for (let j = 0; j < w; j++) {
                let sum = 0;
                for (let p = 0; p < k; p++) if (a.get(i, p) !== 0) sum = Math.fround(sum + Math.fround(a.get(i, p) * B[p * n + j0 + j]));
                expect(got[i * n + j0 + j]).toBe(alone[i * w + j]);
                if (plain || j0 >= n4) expect(got[i * n + j0 + j]).toBe(sum);
              }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the fused tanh(A B + bias) has the bits of the sparse product, the bias add and tanh in turn (shapes, strides, NaN, infinities, -0)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (m, k, n4, transA, special, seed) => {
          const n = 4 * n4,
            rng = Rng.seeded(seed);
          const draw = () => (rng.uniform() < 0.8 ? 0 : 3 * rng.normal());
          const a = transA ? rng.tensor([k, m], draw).T : rng.tensor([m, k], draw);
          const b = rng.randn([k, n]),
            bias = rng.randn([n]);
          if (special) {
            const odd = [Number.NaN, Infinity, -Infinity, -0, 1e-30];
            odd.forEach((v, i) => {
              bias.array.data[(7 * i) % n] = v;
              b.array.data[(13 * i) % (k * n)] = v;
            });
          }
          const product = wasm!.matmul(a.array, b.array, true)!;
          const sum = wasm!.addRow(ndarray(product, [m, n]), bias.array)!;
          const want = wasm!.tanh(sum)!;
          const got = wasm!.matmulAddTanh(a.array, b.array, bias.array)!;
          expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('updates w += alpha g like the TypeScript loop, skipping zero blocks exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.constantFrom(0, 0.9), fc.integer(), (n, zeros, seed) => {
        const rng = Rng.seeded(seed);
        const w = rng.randn([n]).array.data as Float32Array,
          g = rng.tensor([n], (r) => (r.uniform() < zeros ? 0 : r.normal())).array.data as Float32Array;
        const want = Float32Array.from(w, (v, i) => v + -0.01 * g[i]);
        const before = Float32Array.from(w);
        expect(wasm!.addScaled(w, g, -0.01)).toBe(true);
        for (let i = 0; i < n; i++) {
          if (g[i] === 0) expect(w[i]).toBe(before[i]);
          else expect(Math.abs(w[i] - want[i])).toBeLessThanOrEqual(2 ** -22 * (Math.abs(before[i]) + Math.abs(0.01 * g[i])));
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe.each(variants)('the WebAssembly elementwise kernels, $name', ({ kernels: wasm }) => {
  const rng = () => Rng.seeded(11);
  const f32 = (x: number) => Math.fround(x);
  const ulps = (a: number, b: number) => {
    const view = new Int32Array(new Float32Array([a, b]).buffer);
    return Math.abs(view[0] - view[1]);
  };

  it('tanh: within 8 ulps of Math.tanh over [-20, 20], exact for tiny inputs, ±1 far out, NaN passes through', () => {
    const n = 200_003;
    const x = rng().tensor([n], (r) => (r.uniform() - 0.5) * (r.uniform() < 0.3 ? 0.01 : 40));
    const data = x.array.data;
    data.set([0, -0, 1e-30, -1e-5, 0.0004, 7.9, 8, 100, -Infinity, Infinity, NaN]);
    const y = wasm!.tanh(data as Float32Array)!;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(data[i])) {
        expect(y[i]).toBeNaN();
        continue;
      }
      worst = Math.max(worst, ulps(y[i], f32(Math.tanh(data[i]))));
    }
    expect(worst).toBeLessThanOrEqual(8);
    expect([y[0], y[2], y[3], y[7], y[8], y[9]]).toEqual([0, f32(1e-30), f32(-1e-5), 1, -1, 1]);
    expect(Object.is(y[1], -0)).toBe(true);
  });

  it('bias add, column sums, the tanh gradient and the non-zero count equal the TypeScript loops', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (m, n, seed) => {
        const r = Rng.seeded(seed);
        const a = r.randn([m, n]),
          b = r.randn([n]),
          g = r.randn([m, n]),
          y = r.tensor([m, n], (q) => Math.tanh(q.normal()));
        const sum = wasm!.addRow(a.array, b.array)!;
        const cols = wasm!.sumRows(a.array)!;
        const grad = wasm!.tanhGrad(g.array.data as Float32Array, y.array.data as Float32Array)!;
        const sparse = r.tensor([m, n], (q) => (q.uniform() < 0.7 ? 0 : q.normal())).array.data as Float32Array;
        expect(wasm!.countNonzero(sparse)).toBe(sparse.filter((v) => v !== 0).length);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            expect(sum[i * n + j]).toBe(f32(a.get(i, j) + b.get(j))); // one rounding, as in TypeScript
            const want = f32(g.get(i, j) * (1 - y.get(i, j) ** 2));
            expect(Math.abs(grad[i * n + j] - want)).toBeLessThanOrEqual(4 * 2 ** -23 * Math.abs(g.get(i, j)));
          }
        // the sums in row order, rounded to float32 at each step, as the TypeScript loop does
        const want = new Float32Array(n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) want[j] += a.get(i, j);
        expect(Array.from(cols)).toEqual(Array.from(want));
      }),
      { numRuns: 50 },
    );
  });
});

describe('tidy', () => {
  it('frees what a step allocated, so the next step reuses it, and keeps what it returns', () => {
    // Without the WebAssembly memory there are no blocks to reuse: that is only when the TypeScript kernels were asked for.
    if (!memory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const arena = defaultMemory();
    const rng = Rng.seeded(3);
    const W = rng.randn([50, 20], { requiresGrad: true });
    const step = (keepGrad: boolean) =>
      tidy(() => {
        const t = new Tape();
        const x = rng.randn([4, 50]);
        const loss = t.sum(t.tanh(t.matmul(x, W)));
        t.backward(loss);
        const kept = keepGrad ? W.grad! : null;
        W.grad = null;
        return { kept, value: loss.item() };
      });
    step(false);
    const top = arena.used;
    for (let i = 0; i < 20; i++) step(false);
    expect(arena.used).toBe(top); // every block of a step is reused by the next
    const results = Array.from({ length: 20 }, () => step(true));
    expect(arena.used - top).toBeLessThanOrEqual(20 * 4096); // only the kept gradients added
    // a kept gradient is intact after later steps reused the freed blocks
    const first = results[0].kept!.toFlatArray();
    for (let i = 0; i < 5; i++) step(false);
    expect(results[0].kept!.toFlatArray()).toEqual(first);
    expect(new Set(results.map((r) => r.kept!.array.data.byteOffset)).size).toBe(20);
  });

  it('runs the function and returns its value with every kernel path', () => {
    expect(tidy(() => tensor([1, 2]).toFlatArray())).toEqual([1, 2]);
  });

  it('refuses an async function, whose arrays would be freed before it finishes', () => {
    expect(() => tidy(async () => 1)).toThrow(/tidy: the function returned a promise; .* must be synchronous/);
  });
});
