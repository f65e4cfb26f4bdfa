import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { kernels, Rng, tensor, zeros } from '../src/index.ts';
import { wasm } from '../src/kernels/wasm.ts';

describe('Tensor', () => {
  it('builds from nested arrays, numbers and typed arrays', () => {
    expect(tensor(3).shape).toEqual([]);
    expect(tensor(3).item()).toBe(3);
    expect(tensor([1, 2]).shape).toEqual([2]);
    const m = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe('float64');
    expect(m.get(1, 2)).toBe(6);
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const shared = tensor(data, { shape: [3, 2] });
    data[5] = 60;
    expect(shared.get(2, 1)).toBe(60);
    expect(zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
  });

  it('rejects ragged arrays and shapes the data does not fill', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow('tensor: ragged nested array: row 0 has shape [2] but row 1 has [1]');
    expect(() => tensor(new Float32Array(5), { shape: [2, 3] })).toThrow('tensor: 5 values do not fill shape [2,3] (6 needed)');
  });

  it('transposes in O(1): a view that shares memory', () => {
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    const t = m.T;
    expect(t.array.data).toBe(m.array.data);
    expect(t.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(t.clone().toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(() => tensor([1], { requiresGrad: true }).T).toThrow('use tape.transpose(x)');
  });

  it('prints readably', () => {
    expect(tensor([[1, 0.5], [2, -3.25]], { dtype: 'float64' }).toString()).toBe('Tensor([2,2] float64) [[1.0, 0.5],\n [2.0, -3.25]]');
    expect(tensor(0.125).toString()).toBe('Tensor([] float32) 0.125');
    expect(zeros([20]).toString()).toBe('Tensor([20] float32) [0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0]');
  });
});

/** The textbook triple loop, through get/set: the reference for the matmul kernel. */
function naiveMatmul(a: ndarray.NdArray, b: ndarray.NdArray): number[] {
  const [m, k] = a.shape, n = b.shape[1];
  const out: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
    out.push(s);
  }
  return out;
}

describe('kernels.matmul', () => {
  it('equals the textbook loops for random shapes, sparsity and transposed views', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }),
      fc.boolean(), fc.boolean(), fc.constantFrom(0, 0.5, 0.9), fc.integer(),
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
    ));
  });
});

describe('the WebAssembly matmul', () => {
  it('is built by the install step (unless BACKPROP_KERNELS=js)', () => {
    expect(wasm !== null).toBe(process.env.BACKPROP_KERNELS !== 'js');
  });
  it.runIf(wasm !== null)('equals the TypeScript reference kernel on random float32 shapes, strides and sparsity', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }),
      fc.boolean(), fc.boolean(), fc.constantFrom(0, 0.8), fc.integer(),
      (m, k, n, transA, transB, zeros, seed) => {
        const rng = Rng.seeded(seed);
        const draw = () => (rng.uniform() < zeros ? 0 : rng.normal());
        const a = transA ? rng.tensor([k, m], draw).T : rng.tensor([m, k], draw);
        const b = transB ? rng.tensor([n, k], draw).T : rng.tensor([k, n], draw);
        const got = wasm!.matmul(a.array, b.array);
        const want = kernels.matmulTS(a.array, b.array).data;
        // float32 sums in another order: within a few ulps of the sum of |a b|.
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let scale = 0;
          for (let p = 0; p < k; p++) scale += Math.abs(a.get(i, p) * b.get(p, j));
          expect(Math.abs(got[i * n + j] - want[i * n + j])).toBeLessThanOrEqual(1e-6 * k * scale + 1e-30);
        }
      },
    ), { numRuns: 60 });
  });
});
