/**
 * The batch-128 step of the paper's network, kernel by kernel: CPU microseconds per call at the
 * step's shapes on one thread, and on two the calling thread's and all threads' (Linux's per-thread
 * clock, /proc/self/task), taking turns, medians of 5 turns, so that what stays on the calling
 * thread shows (issue 24's "MLP batch 128, both cores" row). CPU, not wall time: on a shared
 * machine the wall time of a split call says how the scheduler shared the cores.
 * `npx tsx bench/step-parts.ts`.
 */
import { kernels, Rng, setThreads, type Tensor } from '@backprop/graph';
import { loadMnist } from '@backprop/mlp';
import { tidy } from '@backprop/graph';
import { median, threadCpu } from './timing.ts';

const rng = Rng.seeded(1);
const { train } = loadMnist();
const X = train.batch(Int32Array.from({ length: 128 }, (_, i) => i)).X;
const t = (shape: number[]): Tensor => rng.randn(shape);
const W1 = t([784, 800]),
  W2 = t([800, 100]),
  W3 = t([100, 10]),
  b1 = t([800]),
  b2 = t([100]);
const H1 = kernels.tanh(t([128, 800]).array),
  H2 = kernels.tanh(t([128, 100]).array),
  G1 = t([128, 800]),
  G2 = t([128, 100]),
  G3 = t([128, 10]),
  A1 = t([128, 800]),
  dW2 = t([800, 100]);
const labels = Array.from({ length: 128 }, (_, i) => train.labels[i]);
const S = t([128, 10]);
const W2copy = t([800, 100]);
const parts: [string, () => unknown][] = [
  ['X W1 (sparse)', () => kernels.matmul(X.array, W1.array)],
  ['+ b1 [128,800]', () => kernels.add(A1.array, b1.array, [128, 800])],
  ['tanh [128,800]', () => kernels.tanh(A1.array)],
  ['H1 W2', () => kernels.matmul(H1, W2.array)],
  ['+ b2 [128,100]', () => kernels.add(G2.array, b2.array, [128, 100])],
  ['tanh [128,100]', () => kernels.tanh(G2.array)],
  ['H2 W3', () => kernels.matmul(H2, W3.array)],
  ['hinge [128,10]', () => kernels.hingeRows(S.array, labels)],
  ['sum b3 [128,10]', () => kernels.sumAxis(G3.array, 0)],
  ['G3 W3ᵀ', () => kernels.matmul(G3.array, W3.array.transpose(1, 0))],
  ['H2ᵀ G3', () => kernels.matmul(H2.transpose(1, 0), G3.array)],
  ['tanhGrad [128,100]', () => kernels.tanhGrad(G2.array, H2)],
  ['sum b2 [128,100]', () => kernels.sumAxis(G2.array, 0)],
  ['G2 W2ᵀ', () => kernels.matmul(G2.array, W2.array.transpose(1, 0))],
  ['H1ᵀ G2', () => kernels.matmul(H1.transpose(1, 0), G2.array)],
  ['tanhGrad [128,800]', () => kernels.tanhGrad(G1.array, H1)],
  ['sum b1 [128,800]', () => kernels.sumAxis(G1.array, 0)],
  ['Xᵀ G1 (rows)', () => kernels.matmulRowSparse(X.array.transpose(1, 0), G1.array)],
  ['W2 -= lr dW2', () => kernels.addScaled(W2copy.array.data, dW2.array.data, 0)],
];
/** CPU microseconds per call of `f` (calls for about 0.25 s of CPU): the calling thread's and all threads'. */
function cpuPerCall(f: () => unknown): { caller: number; all: number } {
  const main = String(process.pid);
  for (let i = 0; i < 20; i++) tidy(f); // warm up
  let calls = 0;
  const before = threadCpu();
  for (const c0 = process.cpuUsage(); ; ) {
    for (let i = 0; i < 20; i++) tidy(f);
    calls += 20;
    const c = process.cpuUsage(c0);
    if (c.user + c.system > 250_000) break;
  }
  const after = threadCpu();
  let all = 0;
  for (const [tid, t] of after) all += t - (before.get(tid) ?? 0);
  return { caller: (((after.get(main) ?? 0) - (before.get(main) ?? 0)) / calls) * 1e6, all: (all / calls) * 1e6 };
}
const one: number[][] = parts.map(() => []),
  twoCaller: number[][] = parts.map(() => []),
  twoAll: number[][] = parts.map(() => []);
for (let r = 0; r < 5; r++) {
  await setThreads(1);
  parts.forEach(([, f], i) => one[i].push(cpuPerCall(f).caller));
  await setThreads(2);
  parts.forEach(([, f], i) => {
    const { caller, all } = cpuPerCall(f);
    twoCaller[i].push(caller);
    twoAll[i].push(all);
  });
}
await setThreads(1);
const sums = [0, 0, 0];
console.log('part (CPU us per call)  1 thread  2 threads: calling thread  all threads  calling / 1 thread');
parts.forEach(([name], i) => {
  const [a, b, c] = [median(one[i]), median(twoCaller[i]), median(twoAll[i])];
  sums[0] += a;
  sums[1] += b;
  sums[2] += c;
  console.log(`${name.padEnd(24)}${a.toFixed(1).padStart(8)}${b.toFixed(1).padStart(27)}${c.toFixed(1).padStart(13)}${(b / a).toFixed(2).padStart(20)}`);
});
console.log(
  `${'sum'.padEnd(24)}${sums[0].toFixed(1).padStart(8)}${sums[1].toFixed(1).padStart(27)}${sums[2].toFixed(1).padStart(13)}${(sums[1] / sums[0]).toFixed(2).padStart(20)}`,
);
