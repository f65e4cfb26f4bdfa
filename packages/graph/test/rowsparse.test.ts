/**
 * The row-sparse product (kernels.matmulRowSparse, rowsparse.ts): the rows of A B where a sparse A has
 * no non-zero are left unwritten until read, and plain SGD updates only the other rows. Every reader
 * must get the bits of the dense product, and the update the bits of the dense update.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { addScaledRows, gradcheck, gradgradcheck, kernels, Rng, RowSparseTensor, Tape, tensor, tidy, zeros, type Tensor } from '../src/index.ts';
import { setFlagsFromString } from 'node:v8';
import { binary } from '../src/kernels/builds.ts';
import { defaultMemory, inMemory } from '../src/kernels/memory.ts';
import { loadKernels, wasmKernels } from '../src/kernels/wasm.ts';

/**
 * The bits of a typed array, the sign of zero included, every NaN written 'NaN': WebAssembly leaves a
 * NaN's sign and payload unspecified, and V8's two compilers of a kernel (before and after it tiers
 * up) may pick different ones when two NaNs meet, so the same kernel can give two NaNs on two calls.
 */
const bits = (d: Float32Array | Float64Array) =>
  Array.from(d, (v, i) =>
    Number.isNaN(v) ? 'NaN' : Array.from(new Uint8Array(d.buffer, d.byteOffset + i * d.BYTES_PER_ELEMENT, d.BYTES_PER_ELEMENT)).join('.'),
  );

/** A value of a sparse matrix: mostly exact zeros (of both signs), else a normal draw or a special value. */
function entry(r: Rng, zeros: number, specials: boolean): number {
  const u = r.uniform();
  if (u < zeros) return u < zeros / 8 ? -0 : 0;
  if (specials && r.uniform() < 0.05) return [NaN, Infinity, -Infinity][Math.floor(r.uniform() * 3)];
  return r.normal();
}

/** A [rows, cols] tensor of `dtype`, some of whose rows are all zero, in the kernels' memory or (jsHeap) not. */
function sparseMatrix(
  r: Rng,
  rows: number,
  cols: number,
  zeros: number,
  emptyRows: number,
  specials: boolean,
  dtype: 'float32' | 'float64',
  jsHeap: boolean,
): Tensor {
  const t = r.tensor([rows, cols], (q) => entry(q, zeros, specials), { dtype });
  for (let i = 0; i < rows; i++) if (r.uniform() < emptyRows) t.array.data.fill(0, i * cols, (i + 1) * cols);
  return jsHeap ? tensor(t.array.data.slice(), { shape: [rows, cols] }) : t;
}

describe('kernels.matmulRowSparse', () => {
  it('gives the bits of kernels.matmul once the unwritten rows are zeroed, and lists exactly the rows of A with a non-zero (random shapes, all-zero rows and batches, NaN, Inf and -0 in A and B)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(1, 7, 16, 33, 64, 100),
        fc.constantFrom(0.5, 0.9, 1),
        fc.constantFrom(0, 0.5, 1),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('float32', 'float64'),
        fc.boolean(),
        fc.integer(),
        (m, k, n, zeros, emptyRows, transA, specials, dtype, jsHeap, seed) =>
          tidy(() => {
            const r = Rng.seeded(seed);
            // A = Xᵀ (a transposed view, as in the weights' gradient) or a row-major A
            const a = transA ? sparseMatrix(r, k, m, zeros, 0, specials, dtype, jsHeap).T : sparseMatrix(r, m, k, zeros, emptyRows, specials, dtype, jsHeap);
            const b = r.tensor([k, n], (q) => entry(q, 0.2, specials), { dtype });
            // Stale values where the product is about to be allocated: unwritten rows must not show through.
            tidy(() => r.tensor([m, n], () => NaN, { dtype }));
            const want = kernels.matmul(a.array, b.array);
            const { array, rows } = kernels.matmulRowSparse(a.array, b.array);
            const nonEmpty = Array.from({ length: m }, (_, i) => i).filter((i) => Array.from({ length: k }, (_, p) => a.get(i, p)).some((v) => v !== 0));
            if (rows) {
              expect(Array.from(rows)).toEqual(nonEmpty);
              kernels.zeroOtherRows(array.data, rows, n);
            }
            expect(bits(array.data)).toEqual(bits(want.data));
          }),
      ),
      { numRuns: 200 },
    );
  });

  it('leaves rows unwritten for an MNIST-like Xᵀ G with the WebAssembly kernels, and the TypeScript ones for float64', () => {
    const r = Rng.seeded(3);
    const X = sparseMatrix(r, 8, 784, 0.8, 0, false, 'float32', false);
    for (let p = 0; p < 784; p += 3) for (let i = 0; i < 8; i++) X.array.data[i * 784 + p] = 0; // a third of the pixels in no image
    const G = r.randn([8, 800]);
    const { rows } = kernels.matmulRowSparse(X.T.array, G.array);
    expect(rows).not.toBeNull();
    expect(rows!.length).toBeLessThanOrEqual(522);
    const { rows: rows64 } = kernels.matmulRowSparse(X.clone('float64').T.array, G.clone('float64').array);
    expect(Array.from(rows64!)).toEqual(Array.from(rows!));
    // a dense A: every row written
    expect(kernels.matmulRowSparse(r.randn([8, 784]).T.array, G.array).rows).toBeNull();
  });
});

describe('kernels.addScaledRows', () => {
  it('gives the bits of kernels.addScaled over the whole zeroed gradient, reading none of its other rows (both kernels, -0, NaN, Inf, any alpha)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(16, 32, 48, 64, 800, 100, 7),
        fc.constantFrom(0, 0.5, 0.95),
        fc.constantFrom(-0.01, 0.5, -1e30, NaN, -Infinity),
        fc.constantFrom('float32', 'float64'),
        fc.boolean(),
        fc.integer(),
        (m, n, zeroShare, alpha, dtype, jsHeap, seed) =>
          tidy(() => {
            const r = Rng.seeded(seed);
            // copies in the kernels' memory (float32: the WebAssembly kernel) or in the JavaScript heap (the TypeScript loop)
            const copy = (x: Float32Array | Float64Array) => {
              if (jsHeap) return x.slice();
              const out = zeros([x.length], { dtype }).array.data;
              out.set(x);
              return out;
            };
            const w = r.tensor([m, n], (q) => entry(q, 0.1, true), { dtype }).array.data;
            const rows = Int32Array.from(Array.from({ length: m }, (_, i) => i).filter(() => r.uniform() < 0.5));
            const g = r.tensor([m, n], (q) => entry(q, zeroShare, true), { dtype }).array.data;
            let from = 0;
            for (const row of rows) {
              g.fill(0, from * n, row * n);
              from = row + 1;
            }
            g.fill(0, from * n);
            const dense = copy(w);
            kernels.addScaled(dense, copy(g), alpha);
            const unread = copy(g); // the rows addScaledRows must not read hold NaN
            for (let i = 0; i < m; i++) if (!rows.includes(i)) unread.fill(NaN, i * n, (i + 1) * n);
            const sparse = copy(w);
            const done = kernels.addScaledRows(sparse, unread, rows, n, alpha);
            const wasm = wasmKernels() !== null && !jsHeap && dtype === 'float32';
            expect(inMemory(sparse)).toBe(!jsHeap && dtype === 'float32' && wasmKernels() !== null);
            expect(done).toBe(n % (wasm ? 16 : 32) === 0);
            if (done) expect(bits(sparse)).toEqual(bits(dense));
          }),
      ),
      { numRuns: 100 },
    );
  });
});

/** A two-layer network on sparse inputs, trained by plain SGD on the tape; `dense` reads every gradient before the step. */
function train(dense: boolean, dtype: 'float32' | 'float64', steps: number, seed: number): { params: Tensor[]; sparseSteps: number } {
  const r = Rng.seeded(seed);
  const W1 = r.randn([48, 32], { dtype }),
    b1 = zeros([32], { dtype }),
    W2 = r.randn([32, 5], { dtype });
  const params = [W1, b1, W2];
  params.forEach((p) => (p.requiresGrad = true));
  let sparseSteps = 0;
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      // blank images, a blank batch, and NaN and Inf in the last batch (backward from the scores, not a NaN loss)
      const X = sparseMatrix(r, 4, 48, 0.85, s % 5 === 4 ? 1 : 0.1, s === steps - 1, dtype, false);
      const t = new Tape();
      const h = t.tanh(t.add(t.matmul(X, W1), b1));
      t.backward(t.matmul(h, W2), { grad: r.randn([4, 5], { dtype }) });
      if (dense) params.forEach((p) => p.grad!.array);
      const rowSparse = W1.grad instanceof RowSparseTensor && W1.grad.sparseRows() !== null;
      for (const p of params) if (!addScaledRows(p, p.grad!, -0.01)) kernels.addScaled(p.array.data, kernels.flat(p.grad!.array), -0.01);
      if (rowSparse && W1.grad instanceof RowSparseTensor && W1.grad.sparseRows() !== null) sparseSteps++;
    });
  }
  return { params, sparseSteps };
}

describe("the first layer's gradient on sparse inputs", () => {
  it('is row-sparse through the tape, SGD updates it without reading it densely, and the weights have the bits of the dense update', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const seed of [1, 2, 3]) {
        const rowSparse = train(false, dtype, 12, seed),
          dense = train(true, dtype, 12, seed);
        expect(rowSparse.sparseSteps).toBeGreaterThanOrEqual(10);
        expect(dense.sparseSteps).toBe(0);
        rowSparse.params.forEach((p, i) => expect(bits(p.array.data)).toEqual(bits(dense.params[i].array.data)));
      }
    }
  });

  it('reads as the exact dense Xᵀ G: .grad, accumulate, gradients(), and a first derivative through it', () => {
    const r = Rng.seeded(5);
    const X = sparseMatrix(r, 4, 20, 0.8, 0, false, 'float64', false);
    X.array.data.fill(0, 0, 20); // a blank image: the forward product X W is row-sparse too
    const W = r.randn([20, 6], { dtype: 'float64', requiresGrad: true });
    const G = r.randn([4, 6], { dtype: 'float64' });
    const want = kernels.matmul(X.T.array, G.array).data;
    const loss = (t: Tape) => t.sum(t.mul(t.matmul(X, W), G));
    const t = new Tape();
    t.backward(loss(t));
    expect(W.grad instanceof RowSparseTensor).toBe(true);
    expect(W.grad!.toFlatArray()).toEqual(Array.from(want));
    const t2 = new Tape();
    t2.backward(loss(t2), { accumulate: true });
    expect(W.grad!.toFlatArray()).toEqual(Array.from(want, (v) => v + v));
    const t3 = new Tape();
    expect(t3.gradients(loss(t3), [W])[0].toFlatArray()).toEqual(Array.from(want));
    // tanh keeps the second derivative non-zero; the inputs' blank rows and pixels keep the products row-sparse
    const f = (tape: Tape, w: Tensor) => tape.sum(tape.tanh(tape.matmul(X, w)));
    expect(gradcheck(f, [W]).ok).toBe(true);
    expect(gradgradcheck(f, [W]).ok).toBe(true);
  });

  it('is read densely, blank rows +0, by a tape that checks every output for NaN', () => {
    const r = Rng.seeded(6);
    const X = sparseMatrix(r, 3, 40, 0.9, 0, false, 'float32', false);
    const W = r.randn([40, 16], { requiresGrad: true });
    const t = new Tape({ checkFinite: true });
    t.backward(t.sum(t.matmul(X, W)));
    // the tape checked every op's output, gradients included, so the zeros are written
    expect(W.grad instanceof RowSparseTensor ? W.grad.sparseRows() : null).toBeNull();
    const rows = ndarray(new Float32Array(W.grad!.toFlatArray()), [40, 16]);
    for (let p = 0; p < 40; p++) {
      const blank = [0, 1, 2].every((i) => X.get(i, p) === 0);
      if (blank) for (let j = 0; j < 16; j++) expect(Object.is(rows.get(p, j), 0)).toBe(true);
    }
  });
});

// The first layer's weight gradient Xᵀ G computed when read, or added to the weights by SGD without
// being written (kernels.deferredProduct, RowSparseTensor.product, the kernel combineRowsUpdate).
setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20
// Without the kernels' memory (BACKPROP_KERNELS=js) there is no WebAssembly kernel to test, nor a product left for later.
const builds = defaultMemory().wasm
  ? [
      { name: 'plain SIMD', w: loadKernels(binary('plain'))! },
      { name: 'fused multiply-add', w: loadKernels(binary('fused'))! },
    ]
  : [];

describe('addScaledProduct (w += alpha A B without writing A B)', () => {
  it('gives, in each build, the bits of that build`s matmulRows followed by addScaledRows, and is within float32 rounding of a float64 product (random shapes, Xᵀ views, NaN, Inf and -0)', () => {
    for (const { name, w: kernel } of builds) {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 64 }),
          fc.constantFrom(32, 64, 96, 800),
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom(-0.01, 0.5, -1e30, NaN),
          fc.boolean(),
          fc.integer(),
          (m, k, n, transA, specials, alpha, jsHeap, seed) =>
            tidy(() => {
              const r = Rng.seeded(seed);
              const a = transA ? sparseMatrix(r, k, m, 0.8, 0.3, specials, 'float32', jsHeap).T : sparseMatrix(r, m, k, 0.8, 0.3, specials, 'float32', jsHeap);
              const b = r.tensor([k, n], (q) => entry(q, 0.2, specials), { dtype: 'float32' });
              const w0 = r.tensor([m, n], (q) => entry(q, 0.1, specials)).array.data;
              const separate = zeros([m * n]).array.data as Float32Array,
                fused = zeros([m * n]).array.data as Float32Array;
              separate.set(w0);
              fused.set(w0);
              const product = kernel.matmulRows(a.array, b.array)!;
              expect(kernel.addScaledRows(separate, product.C, product.rows, n, alpha), name).toBe(true);
              expect(kernel.addScaledProduct(fused, a.array, b.array, alpha), name).toBe(true);
              expect(bits(fused), `${name}: ${m}x${k}x${n}`).toEqual(bits(separate));
              if (specials || !Number.isFinite(alpha) || Math.abs(alpha) > 1) return;
              // the reference: w + alpha Σ_p a_ip b_pj in float64; a float32 sum of k products is within k ulps or so
              const a64 = kernels.contiguous(a.array, 'float64'),
                b64 = b.array.data;
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j += 7) {
                  let s = 0,
                    mag = 0;
                  for (let p = 0; p < k; p++) {
                    s += a64.data[i * k + p] * b64[p * n + j];
                    mag += Math.abs(a64.data[i * k + p] * b64[p * n + j]);
                  }
                  expect(Math.abs(fused[i * n + j] - (w0[i * n + j] + alpha * s))).toBeLessThanOrEqual(
                    2 ** -22 * (Math.abs(w0[i * n + j]) + Math.abs(alpha) * (k + 2) * mag) + 1e-30,
                  );
                }
              }
            }),
        ),
        { numRuns: 60 },
      );
    }
  });

  it('declines what it cannot do, doing nothing: k over 64, n not a multiple of 32, a transposed B, w of another size', () => {
    for (const { w: kernel } of builds) {
      tidy(() => {
        const r = Rng.seeded(7);
        const w = r.randn([8, 64]).array.data as Float32Array,
          before = w.slice();
        expect(kernel.addScaledProduct(w, r.randn([8, 65]).array, r.randn([65, 64]).array, -1)).toBe(false);
        expect(kernel.addScaledProduct(w, r.randn([8, 4]).array, r.randn([64, 4]).T.array, -1)).toBe(false);
        expect(kernel.addScaledProduct(w, r.randn([8, 4]).array, r.randn([4, 32]).array, -1)).toBe(false);
        expect(Array.from(w)).toEqual(Array.from(before));
        const w48 = r.randn([8, 48]).array.data as Float32Array,
          before48 = w48.slice();
        expect(kernel.addScaledProduct(w48, r.randn([8, 4]).array, r.randn([4, 48]).array, -1)).toBe(false);
        expect(Array.from(w48)).toEqual(Array.from(before48));
      });
    }
  });
});

describe('the first layer`s gradient left to compute (RowSparseTensor.product)', () => {
  /** W1 [784, 64] trained on MNIST-like batches of 8 by SGD; `read`: each gradient read densely before the step. */
  function trainFirstLayer(read: boolean, seed: number): { W1: Tensor; pending: number; grad: number[] } {
    const r = Rng.seeded(seed);
    const W1 = r.randn([784, 64], { requiresGrad: true });
    let pending = 0,
      grad: number[] = [];
    for (let s = 0; s < 6; s++) {
      tidy(() => {
        const X = sparseMatrix(r, 8, 784, 0.8, s === 3 ? 1 : 0, s === 5, 'float32', false);
        const t = new Tape();
        t.backward(t.tanh(t.matmul(X, W1)), { grad: r.randn([8, 64]) });
        if (read) void W1.grad!.array;
        if (!read && W1.grad instanceof RowSparseTensor && W1.grad.addScaledProductTo(W1, 0)) pending++; // alpha 0: w + 0 g
        if (!addScaledRows(W1, W1.grad!, -0.01)) kernels.addScaled(W1.array.data, kernels.flat(W1.grad!.array), -0.01);
      });
      grad = W1.grad!.toFlatArray(); // after its scope ended: computed from the tensor's own copies of X and G
    }
    return { W1, pending, grad };
  }

  it('is added to the weights with the bits of the gradient read first, and reads, after its scope, as that gradient', () => {
    for (const seed of [1, 2]) {
      const fused = trainFirstLayer(false, seed),
        read = trainFirstLayer(true, seed);
      expect(fused.pending).toBe(builds.length ? 6 : 0); // every step fused where the kernels run
      expect(bits(fused.W1.array.data)).toEqual(bits(read.W1.array.data));
      expect(fused.grad.map(String)).toEqual(read.grad.map(String));
    }
  });

  it('is not changed by an in-place write to X or G after the backward pass', () => {
    const r = Rng.seeded(9);
    const X = sparseMatrix(r, 8, 784, 0.8, 0, false, 'float32', false),
      W1 = r.randn([784, 32], { requiresGrad: true }),
      G = r.randn([8, 32]);
    const t = new Tape();
    t.backward(t.matmul(X, W1), { grad: G });
    const want = kernels.matmul(X.T.array, G.array).data.slice();
    X.update((x) => x.data.fill(1));
    G.update((g) => g.data.fill(NaN));
    expect(bits(new Float32Array(W1.grad!.toFlatArray()))).toEqual(bits(want));
  });
});

describe('the sparse product with long rows of A (k > 64: X W1), its rows in groups', () => {
  it('sums each entry over the non-zeros of its row of A in order, whatever group the row falls in (plain build: bit for bit against float32 loops; fused: within rounding)', () => {
    const f = Math.fround;
    for (const { name, w: kernel } of builds) {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 65, max: 120 }), fc.constantFrom(5, 32, 40), fc.integer(), (m, k, n, seed) =>
          tidy(() => {
            const r = Rng.seeded(seed);
            const a = sparseMatrix(r, m, k, 0.8, 0.2, false, 'float32', false),
              b = r.randn([k, n]);
            const { C, rows } = kernel.matmulRows(a.array, b.array)!;
            const A = a.array.data,
              B = b.array.data;
            expect(Array.from(rows)).toEqual(Array.from({ length: m }, (_, i) => i).filter((i) => A.subarray(i * k, (i + 1) * k).some((v) => v !== 0)));
            for (const i of rows) {
              for (let j = 0; j < n; j++) {
                let s = 0,
                  exact = 0,
                  mag = 0;
                for (let p = 0; p < k; p++) {
                  if (A[i * k + p] === 0) continue;
                  s = f(s + f(A[i * k + p] * B[p * n + j]));
                  exact += A[i * k + p] * B[p * n + j];
                  mag += Math.abs(A[i * k + p] * B[p * n + j]);
                }
                if (name === 'plain SIMD') expect(C[i * n + j], `${m}x${k}x${n} at ${i},${j}`).toBe(s);
                else expect(Math.abs(C[i * n + j] - exact)).toBeLessThanOrEqual(2 ** -23 * (k + 1) * mag);
              }
            }
          }),
        ),
        { numRuns: 30 },
      );
    }
  });
});
