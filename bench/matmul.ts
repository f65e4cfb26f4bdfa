/**
 * Matmul throughput for the shapes of the paper's network at mini-batch 8 (forward and backward),
 * for our dispatching kernel (WebAssembly SIMD when built), the TypeScript kernels alone, and the
 * textbook triple loop, all measured in the same run.
 */
import { kernels, Rng, type Tensor } from '@backprop/graph';
import { secondsPerCall } from './timing.ts';

/** The reference: C[i][j] = sum_p A[i][p] B[p][j], three nested loops over row-major arrays. */
function textbook(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  return c;
}

export function benchMatmul(): Record<string, number> {
  const record: Record<string, number> = {};
  const rng = Rng.seeded(1);
  // MNIST-like sparsity for the batch: about 81% zeros.
  const mnistLike = (shape: number[]) => rng.tensor(shape, (r) => (r.uniform() < 0.81 ? 0 : r.uniform()));
  const shapes: { name: string; a: Tensor; b: Tensor }[] = [
    { name: '[8,784]x[784,800]   X W1', a: mnistLike([8, 784]), b: rng.randn([784, 800]) },
    { name: '[784,8]x[8,800]     Xᵀ G1', a: mnistLike([8, 784]).T, b: rng.randn([8, 800]) },
    { name: '[8,800]x[800,100]   H1 W2', a: rng.randn([8, 800]), b: rng.randn([800, 100]) },
    { name: '[800,8]x[8,100]     H1ᵀ G2', a: rng.randn([8, 800]).T, b: rng.randn([8, 100]) },
    { name: '[8,100]x[100,800]   G2 W2ᵀ', a: rng.randn([8, 100]), b: rng.randn([800, 100]).T },
    { name: '[8,784]x[784,800]   dense X', a: rng.randn([8, 784]), b: rng.randn([784, 800]) },
    { name: '[128,784]x[784,800] batch 128', a: mnistLike([128, 784]), b: rng.randn([784, 800]) },
  ];
  console.log('matmul, float32, GFLOP/s (2mkn / time, median of 5 runs), all in this run');
  console.log('shape                            ours  TS kernels  textbook  ours/textbook');
  for (const { name, a, b } of shapes) {
    const [m, k] = a.shape,
      n = b.shape[1];
    const gflops = (fn: () => unknown) => (2 * m * k * n) / secondsPerCall(fn) / 1e9;
    const ours = gflops(() => kernels.matmul(a.array, b.array));
    const ts = gflops(() => kernels.matmulTS(a.array, b.array));
    const A = a.clone().array.data as Float32Array,
      B = b.clone().array.data as Float32Array;
    const ref = gflops(() => textbook(A, B, m, k, n));
    record[`matmul ${name.replace(/ +/g, ' ')} (GFLOP/s)`] = ours;
    if (name.endsWith('X W1')) record['textbook triple loop, [8,784]x[784,800] (GFLOP/s)'] = ref;
    console.log(
      `${name.padEnd(30)} ${ours.toFixed(2).padStart(6)} ${ts.toFixed(2).padStart(11)} ${ref.toFixed(2).padStart(9)} ${(ours / ref).toFixed(1).padStart(13)}x`,
    );
  }
  return record;
}
