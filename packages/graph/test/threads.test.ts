/**
 * The kernel threads (kernels/threads.ts): every split product gives the bits of the one-thread
 * kernel, whatever the thread count (1, 2, 3), on random shapes around the kernels' row blocks, for
 * each product kernel (dense, Aᵀ B, A Bᵀ, the sparse-row kernel with and without its list of rows
 * written, and fused with a bias add and tanh); a kernel that traps in a worker is an error on the calling thread, not a hang; and a
 * program that used the threads exits when its work is done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kernels, Rng, setThreads, runningThreads } from '../src/index.ts';
import type { NdArray } from '../src/kernels/arrays.ts';
import { allocateF32, defaultMemory } from '../src/kernels/memory.ts';
import { setPartWork, splitRows } from '../src/kernels/threads.ts';
import { float32Kernels } from '../src/kernels/wasm.ts';

const { matmul, matmulRowSparse } = kernels;
const hasMemory = defaultMemory().wasm !== null;
let oldWork = 0;
beforeAll(() => {
  oldWork = setPartWork(1); // every product split, however small
});
afterAll(async () => {
  setPartWork(oldWork);
  await setThreads(1);
});

/** A float32 [rows, cols] in the kernels' memory: normal values, `zeros` of them zero. */
function random(rng: Rng, rows: number, cols: number, zeros: number): NdArray {
  return rng.tensor([rows, cols], (r) => (r.uniform() < zeros ? 0 : r.normal()), { dtype: 'float32' }).array;
}

const bits = (x: NdArray) => Array.from(new Uint32Array(new Float32Array(kernels.contiguous(x, 'float32').data as Float32Array).buffer));

describe('kernel threads', () => {
  it('splitRows cuts whole row blocks, covers every row once, and never makes an empty part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom(1, 4), (m, parts, block) => {
        const ranges = splitRows(m, parts, block);
        expect(ranges.length).toBeLessThanOrEqual(parts);
        expect(ranges[0][0]).toBe(0);
        expect(ranges.at(-1)![1]).toBe(m);
        ranges.forEach(([s, e], i) => {
          expect(e).toBeGreaterThan(s);
          expect(s % block).toBe(0);
          if (i > 0) expect(s).toBe(ranges[i - 1][1]);
        });
      }),
    );
  });

  it('1, 2 and 3 threads give the bits of the one-thread kernel for every product (fast-check over shapes)', async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const shape = fc.record({ m: fc.integer({ min: 1, max: 37 }), k: fc.integer({ min: 1, max: 90 }), n: fc.integer({ min: 1, max: 41 }), seed: fc.integer() });
    const cases = fc.sample(shape, 30);
    const products = (c: (typeof cases)[number]) => {
      const rng = Rng.seeded(c.seed);
      const A = random(rng, c.m, c.k, 0.1),
        S = random(rng, c.k, c.m, 0.1),
        X = random(rng, c.m, c.k, 0.8),
        B = random(rng, c.k, c.n, 0.1),
        W = random(rng, c.n, c.k, 0.1);
      const rows = matmulRowSparse(X, B);
      const n4 = 4 * Math.ceil(c.n / 4), // the fused kernel takes whole groups of four columns
        bias = random(rng, 1, n4, 0.1),
        fused = kernels.matmulAddTanh(X, random(rng, c.k, n4, 0.1), ndarray(bias.data, [n4], [1], bias.offset));
      return [
        matmul(A, B), // dense
        matmul(S.transpose(1, 0), B), // Aᵀ B (a weights' gradient)
        matmul(A, W.transpose(1, 0)), // A Bᵀ (a gradient through a layer)
        matmul(X, B), // the sparse-row kernel
        matmul(X.transpose(1, 0), random(rng, c.m, c.n, 0)), // its transposed A (Xᵀ G)
        rows.array,
      ]
        .map(bits)
        .concat([Array.from(rows.rows ?? [-1]), fused ? bits(fused) : [-1]]);
    };
    const results: number[][][][] = [];
    for (const threads of [1, 2, 3]) {
      await setThreads(threads);
      expect(runningThreads()).toBe(threads);
      results.push(cases.map(products));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  }, 120_000);

  it('1, 2 and 3 threads give the same bits for the elementwise kernels (tanh, its gradient, the SGD update, by rows)', async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const sizes = fc.sample(
      fc.record({ rows: fc.integer({ min: 1, max: 20 }), n16: fc.integer({ min: 1, max: 6 }), tail: fc.integer({ min: 0, max: 15 }), seed: fc.integer() }),
      20,
    );
    const w = float32Kernels(new Float32Array(1))!;
    const values = (rng: Rng, n: number, zeros = 0) => {
      const a = allocateF32(n);
      for (let i = 0; i < n; i++) a[i] = rng.uniform() < zeros ? 0 : 4 * rng.uniform() - 2;
      return a;
    };
    const elementwise = (c: (typeof sizes)[number]) => {
      const rng = Rng.seeded(c.seed),
        n = 16 * c.n16,
        length = c.rows * n + c.tail;
      const x = values(rng, length),
        g = values(rng, length, 0.5),
        W = values(rng, length),
        W2 = values(rng, c.rows * n),
        G2 = values(rng, c.rows * n, 0.5);
      const y = w.tanh(x)!,
        dy = w.tanhGrad(g, y)!;
      w.addScaled(W, g, -0.01);
      const rows = Int32Array.from({ length: c.rows }, (_, i) => i).filter(() => rng.uniform() < 0.6);
      w.addScaledRows(W2, G2, rows, n, -0.01);
      return [y, dy, W, W2].map((a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)));
    };
    const results: number[][][][] = [];
    for (const threads of [1, 2, 3]) {
      await setThreads(threads);
      results.push(sizes.map(elementwise));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  }, 120_000);

  it('1, 2 and 3 threads give the same bits for ReLU, its gradient and Adam over several tensors (split by values)', async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const cases = fc.sample(
      fc.record({ lengths: fc.array(fc.integer({ min: 0, max: 70 }), { minLength: 1, maxLength: 6 }), decay: fc.constantFrom(1, 0.999), seed: fc.integer() }),
      25, // with the suite's seed (printed; FC_SEED replays it)
    );
    const w = float32Kernels(new Float32Array(1))!;
    const values = (rng: Rng, n: number, zeros = 0) => {
      const a = allocateF32(n);
      for (let i = 0; i < n; i++) a[i] = rng.uniform() < zeros ? (rng.uniform() < 0.5 ? 0 : -0) : 4 * rng.uniform() - 2;
      return a;
    };
    const u32 = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    const run = (c: (typeof cases)[number]) => {
      const rng = Rng.seeded(c.seed),
        length = c.lengths.reduce((s, n) => s + n, 0) + 16 * c.lengths[0];
      const x = values(rng, length, 0.3),
        g = values(rng, length, 0.3);
      x[0] = Number.NaN;
      const out = [w.relu(x)!, w.reluGrad(g, x)!];
      const slots = c.lengths.map((n) => ({ w: values(rng, n), g: values(rng, n, 0.2), m: values(rng, n, 0.5), v: values(rng, n, 0.5) }));
      for (const { v } of slots) for (let i = 0; i < v.length; i++) v[i] = Math.abs(v[i]); // a second moment
      for (let t = 1; t <= 3; t++)
        expect(w.adamSteps(slots, { lr: 0.001, b1: 0.9, b2: 0.999, c1: 1 - 0.9 ** t, c2: 1 - 0.999 ** t, eps: 1e-8, decay: c.decay })).toBe(true);
      return [...out, ...slots.flatMap(({ w, m, v }) => [w, m, v])].map(u32);
    };
    const results: number[][][][] = [];
    for (const threads of [1, 2, 3]) {
      await setThreads(threads);
      results.push(cases.map(run));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  }, 120_000);

  it('the split runs on the workers: a kernel that traps in a worker is an error here, and the team still works after', async () => {
    if (!hasMemory) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    await setThreads(2);
    const team = float32Kernels(new Float32Array(1))!.team!;
    const far = 2 ** 31 + 8; // beyond the memory: an out-of-bounds trap
    expect(() =>
      team.run(
        'tanh',
        [
          [0, 0, 0],
          [far, far, 16],
        ],
        false, // on the worker, never taken back
      ),
    ).toThrow(/a kernel thread failed in tanh: .*out of bounds/);
    const rng = Rng.seeded(1);
    const A = random(rng, 9, 20, 0),
      B = random(rng, 20, 7, 0);
    await setThreads(1);
    const one = bits(matmul(A, B));
    await setThreads(2);
    expect(bits(matmul(A, B))).toEqual(one);
  }, 60_000);

  it('a program that set threads and used them exits when its work ends (the workers keep nothing alive)', () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const program = `import { kernels, setThreads, tensor, runningThreads } from ${JSON.stringify(index)};
await setThreads(3);
const a = tensor(Array.from({ length: 64 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i + j) % 7)), { dtype: 'float32' });
const c = kernels.matmul(a.array, a.array);
console.log(runningThreads(), c.data[0]);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { encoding: 'utf8', env: { ...process.env } });
    expect(out.trim()).toBe(hasMemory ? '3 819' : '1 819');
  }, 60_000);

  it('BACKPROP_THREADS sets the default count, BACKPROP_PART_WORK the split; a malformed value is an error naming the variable', () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const program = `import { getThreads, kernels, runningThreads, setThreads, tensor } from ${JSON.stringify(index)};
const a = tensor(Array.from({ length: 64 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i + j) % 7)), { dtype: 'float32' });
const before = getThreads();
await setThreads(getThreads()); // resolves once the environment's workers are ready
console.log(before, runningThreads(), kernels.matmul(a.array, a.array).data[0]);`;
    // a program whose first kernel call is a product (no getThreads): a malformed value must stop it there, with any kernels
    const kernelOnly = `import { kernels, tensor } from ${JSON.stringify(index)};
const a = tensor(Array.from({ length: 64 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i + j) % 7)), { dtype: 'float32' });
console.log(kernels.matmul(a.array, a.array).data[0]);`;
    const run = (env: Record<string, string>, source = program) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    expect(run({ BACKPROP_THREADS: '2' }, kernelOnly)).toBe('819');
    expect(run({ BACKPROP_THREADS: '3', BACKPROP_PART_WORK: '1' })).toBe(hasMemory ? '3 3 819' : '3 1 819');
    expect(run({ BACKPROP_THREADS: '' })).toBe('1 1 819');
    for (const [name, value] of [
      ['BACKPROP_THREADS', 'two'],
      ['BACKPROP_THREADS', '0'],
      ['BACKPROP_THREADS', '65'],
      ['BACKPROP_PART_WORK', '-5'],
    ]) {
      let stderr = '';
      try {
        run({ [name]: value, BACKPROP_THREADS: name === 'BACKPROP_THREADS' ? value : '2' }, kernelOnly);
      } catch (e) {
        stderr = String((e as { stderr: string }).stderr);
      }
      expect(stderr).toContain(`${name}=${value}: expected`);
      expect(stderr).toContain('unset it for the default');
    }
  }, 60_000);
});
