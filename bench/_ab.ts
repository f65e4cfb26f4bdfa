import { Rng, tidy } from '@backprop/graph';
import { loadKernels } from '../packages/graph/src/kernels/wasm.ts';
import { median } from './timing.ts';
const [fa, fb] = process.argv.slice(2);
const A = loadKernels(new URL(fa, 'file:///'))!, B = loadKernels(new URL(fb, 'file:///'))!;
const rng = Rng.seeded(1);
const mnist = (shape: number[]) => rng.tensor(shape, (r) => (r.uniform() < 0.81 ? 0 : r.uniform()));
const cases = [
  ['X W1 b8', mnist([8, 784]), rng.randn([784, 800])],
  ['Xt G1 b8', mnist([8, 784]).T, rng.randn([8, 800])],
  ['X W1 b128', mnist([128, 784]), rng.randn([784, 800])],
  ['Xt G1 b128', mnist([128, 784]).T, rng.randn([128, 800])],
] as const;
for (const [name, a, b] of cases) {
  const t: Record<string, number[]> = { A: [], B: [] };
  for (let r = 0; r < 15; r++) for (const [k, K] of [['A', A], ['B', B]] as const) {
    const reps = 40; const t0 = performance.now();
    for (let i = 0; i < reps; i++) tidy(() => { K.matmul(a.array, b.array, true); });
    t[k].push((performance.now() - t0) / reps * 1000);
  }
  console.log(name.padEnd(12), 'A', median(t.A).toFixed(1), 'us  B', median(t.B).toFixed(1), 'us  B/A', (median(t.B) / median(t.A)).toFixed(3));
}
