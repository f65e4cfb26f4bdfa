/**
 * Where the evaluation of 70,000 MNIST images spends its time (bench/evaluation.ts times the whole):
 * CPU seconds of each part of `evaluate` for the paper's network on both splits, in batches of
 * 1,000, timed around each part: reading the batch from bytes, the first layer as `scores` runs it
 * (tanh(X W1 + b1) in one kernel, `kernels.matmulAddTanh`) and, in the same rounds, as the tape runs
 * it (the product, the bias add, tanh), the other two layers, the loss, argmax with the finiteness
 * check. Medians of `rounds` after one round of warm-up; both first layers are checked to agree bit
 * for bit.
 *
 *   npx tsx bench/evaluation-parts.ts [rounds = 5]
 */
import { kernels, Rng, Tape, Tensor, tidy } from '@backprop/graph';
import { activate, argmaxRows, batchLoss, loadMnist, MLP } from '@backprop/mlp';
import { median } from './timing.ts';

const rounds = Number(process.argv[2] ?? 5);
const sets = loadMnist();
const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, Rng.seeded(1));
const [first, ...rest] = net.layers;
const parts = ['batch', 'layer 1, fused', 'layer 1 on the tape', 'layers 2-3', 'loss', 'argmax, check'] as const;
const times = new Map<string, number[]>(parts.map((p) => [p, []]));

const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

for (let round = 0; round <= rounds; round++) {
  const spent = new Map<string, number>(parts.map((p) => [p, 0]));
  const timed = <T>(part: string, fn: () => T): T => {
    const c0 = cpu();
    const out = fn();
    spent.set(part, spent.get(part)! + cpu() - c0);
    return out;
  };
  for (const data of [sets.train, sets.test])
    for (let start = 0; start < data.count; start += 1000) {
      const n = Math.min(1000, data.count - start);
      tidy(() => {
        const batch = timed('batch', () => data.batch(Int32Array.from({ length: n }, (_, i) => start + i)));
        const t = new Tape();
        t.noRecord(() => {
          const fused = timed('layer 1, fused', () => kernels.matmulAddTanh(batch.X.array, first.W.array, first.b.array));
          const onTape = timed('layer 1 on the tape', () => activate(t, 'tanh', first.forward(t, batch.X)));
          if (!fused || Buffer.compare(new Tensor(fused).bytes(), onTape.bytes()) !== 0) throw new Error('the fused first layer differs from the tape');
          const S = timed('layers 2-3', () =>
            rest.reduce((h, layer, i) => (i < rest.length - 1 ? activate(t, 'tanh', layer.forward(t, h)) : layer.forward(t, h)), onTape),
          );
          timed('loss', () => batchLoss(t, 'hinge', S, batch).item());
          timed('argmax, check', () => [argmaxRows(S), kernels.firstNonFinite(S.array)]);
        });
      });
    }
  if (round > 0) for (const p of parts) times.get(p)!.push(spent.get(p)!);
}

console.log(`the parts of evaluating 70,000 MNIST images (paper's network, batches of 1,000), CPU seconds, median of ${rounds}`);
for (const p of parts) {
  const t = times.get(p)!;
  console.log(`  ${p.padEnd(20)} ${median(t).toFixed(3)}  (${t.map((x) => x.toFixed(3)).join(' ')})`);
}
