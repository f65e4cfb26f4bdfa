/**
 * The kernel threads in a page (chromium.test.ts) and in Node: every product kernel on a few shapes
 * around the row blocks, split as finely as it goes (setPartWork(1)), with 1, 2 and 3 threads, as
 * float32 bit patterns; and how many threads really ran.
 */
import { kernels, Rng, runningThreads, setThreads } from '../../src/index.ts';
import { setPartWork } from '../../src/kernels/threads.ts';

export interface ThreadBits {
  /** runningThreads() after `await setThreads(n)`, for n = 1, 2, 3. */
  running: number[];
  /** The products' bits (hex), per thread count. */
  bits: string[][];
  isolated: boolean | undefined;
}

const hex = (values: Float32Array) => Array.from(new Uint32Array(Float32Array.from(values).buffer), (u) => u.toString(16).padStart(8, '0')).join('');

export async function threadProgram(): Promise<ThreadBits> {
  const old = setPartWork(1);
  const rng = Rng.seeded(7);
  const uniform = (rows: number, cols: number, zeros = 0) => rng.tensor([rows, cols], (r) => (r.uniform() < zeros ? 0 : 2 * r.uniform() - 1)).array;
  const cases = [
    [13, 70, 19],
    [37, 33, 41],
    [64, 90, 8],
  ].map(([m, k, n]) => ({ A: uniform(m, k), S: uniform(k, m), X: uniform(m, k, 0.8), B: uniform(k, n), W: uniform(n, k), G: uniform(m, n) }));
  const products = () =>
    cases.flatMap(({ A, S, X, B, W, G }) =>
      [
        kernels.matmul(A, B),
        kernels.matmul(S.transpose(1, 0), B),
        kernels.matmul(A, W.transpose(1, 0)),
        kernels.matmul(X, B),
        kernels.matmul(X.transpose(1, 0), G),
      ].map((c) => hex(c.data as Float32Array)),
    );
  const running: number[] = [],
    bits: string[][] = [];
  try {
    for (const n of [1, 2, 3]) {
      await setThreads(n);
      running.push(runningThreads());
      bits.push(products());
    }
  } finally {
    setPartWork(old);
    await setThreads(1);
  }
  return { running, bits, isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated };
}
