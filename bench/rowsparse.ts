/**
 * The row-sparse first-layer update at batch 8, measured: CPU seconds per epoch of the paper's network
 * (784-800-100-10, tanh, hinge, SGD lr 0.01, MNIST) through the tape with the first layer's gradient
 * row-sparse (SGD writes only the rows of W1 a pixel of the batch reaches; since issue 24 it adds
 * the gradient as it is summed, never written: RowSparseTensor.product), through the tape
 * with every gradient read densely before the step (its zeros written and the whole of it read,
 * as before the row-sparse path), and through the hand-derived pass (dense gradients). The three
 * take turns, in an order that rotates every round, and each gets the median of the rounds; the
 * weights after each run are compared bit for bit.
 *
 *   npx tsx bench/rowsparse.ts [rounds = 9] [steps = 1000]
 */
import { Rng, Tape, tidy } from '@backprop/graph';
import { handBackward, loadMnist, lossOnTape, MLP, SGD, type Dataset } from '@backprop/mlp';
import { median } from './timing.ts';

type Path = 'row-sparse' | 'dense' | 'hand';

/** CPU seconds per epoch (60,000 images) over `count` steps at batch 8, and the weights' bytes. */
function steps(train: Dataset, count: number, path: Path): { seconds: number; weights: string } {
  const rng = Rng.seeded(1);
  const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
  const params = net.parameters();
  const sgd = new SGD(params, 0.01);
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const start = process.cpuUsage();
  for (let s = 0; s < count; s++) {
    tidy(() => {
      const { X, y } = train.batch(order.subarray(s * 8, (s + 1) * 8));
      if (path === 'hand') handBackward(net, X, y, 'hinge').grads.forEach((g, i) => (params[i].grad = g));
      else {
        const t = new Tape();
        t.backward(lossOnTape(t, 'hinge', net.forward(t, X), y));
        if (path === 'dense') for (const p of params) void p.grad!.array; // read: the zeros are written, SGD reads it all
      }
      sgd.step();
    });
  }
  const used = process.cpuUsage(start);
  return { seconds: ((used.user + used.system) / 1e6 / (count * 8)) * 60000, weights: Buffer.concat(params.map((p) => p.bytes())).toString('base64') };
}

const rounds = Number(process.argv[2] ?? 9),
  count = Number(process.argv[3] ?? 1000);
const { train } = loadMnist();
const paths: Path[] = ['row-sparse', 'dense', 'hand'];
for (const p of paths) steps(train, count, p); // warm up
const times: Record<Path, number[]> = { 'row-sparse': [], dense: [], hand: [] },
  ratios: number[] = [];
const weights = new Map<Path, string>();
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < paths.length; i++) {
    const path = paths[(i + r) % paths.length];
    const { seconds, weights: w } = steps(train, count, path);
    times[path].push(seconds);
    if (path !== 'hand' && (weights.get(path) ?? w) !== w) throw new Error(`${path}: the weights differ between runs`);
    weights.set(path, w);
  }
  ratios.push(times['row-sparse'][r] / times.dense[r]);
}
if (weights.get('row-sparse') !== weights.get('dense')) throw new Error('the row-sparse and the dense update gave different weights');
console.log(`batch 8, ${count} steps a run, CPU s/epoch, median of ${rounds} (paths in turn), same weights both ways:`);
for (const p of paths) console.log(`  ${p.padEnd(10)} ${median(times[p]).toFixed(2)}  (${times[p].map((x) => x.toFixed(2)).join(' ')})`);
console.log(`  row-sparse / dense, per round: median ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(' ')})`);
