/**
 * Seconds per epoch (60,000 images, training only) of the paper's network, 784-800-100-10, tanh,
 * hinge, plain SGD lr 0.01, float32: through the tape (the normal API) and through the
 * hand-derived backward pass on the same kernels. Measured over a slice of an epoch and scaled.
 */
import { Rng, Tape, tidy, zeros, type Tensor } from '@backprop/graph';
import { handBackward, loadMnist, lossOnTape, MLP, SGD, type Dataset } from '@backprop/mlp';
import { median } from './timing.ts';

/**
 * Seconds for `count` training steps. `dense`: random inputs with no zeros instead of MNIST's
 * (81% zeros), so that the kernels that skip zeros get nothing to skip: the dense path, for a
 * comparison with BLAS that holds for any data.
 */
export function steps(train: Dataset, batch: number, count: number, path: 'tape' | 'hand', dense = false): number {
  const rng = Rng.seeded(1);
  const pool = dense ? rng.tensor([count * batch, 784], (r) => 0.05 + 0.95 * r.uniform()) : null;
  const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
  const params = net.parameters();
  const sgd = new SGD(params, 0.01);
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const t0 = performance.now();
  for (let s = 0; s < count; s++) {
    tidy(() => {
      const rows = order.subarray(s * batch, (s + 1) * batch);
      const { X, y } = pool ? { X: rowsOf(pool, s * batch, batch), y: Array.from(rows, (i) => train.labels[i]) } : train.batch(rows);
      if (path === 'tape') {
        const t = new Tape();
        const loss = lossOnTape(t, 'hinge', net.forward(t, X), y);
        t.backward(loss);
      } else {
        handBackward(net, X, y, 'hinge').grads.forEach((g, i) => (params[i].grad = g));
      }
      sgd.step();
    });
  }
  return (performance.now() - t0) / 1000;
}

/** Rows [from, from + n) of a [rows, cols] tensor, as a copy (as a batch would be). */
function rowsOf(t: Tensor, from: number, n: number): Tensor {
  const cols = t.shape[1];
  const out = zeros([n, cols]);
  out.array.data.set(t.array.data.subarray(from * cols, (from + n) * cols));
  return out;
}

export type EpochTimes = { [key: string]: number };

/**
 * Seconds per epoch of each path at batch 8 and 128: the paths take turns (tape, hand, tape on dense
 * inputs, then again), so that the machine's drift hits them alike, and each gets the median of
 * `runs`. `scale` shrinks the work (for the slow TypeScript-only kernels).
 */
export function benchEpoch(print = true, runs = 5, scale = 1): EpochTimes {
  const { train } = loadMnist();
  const out: EpochTimes = {};
  const log = (s: string) => print && console.log(s);
  log(`\nepoch of the paper's network (60,000 images, training only), seconds (median of ${runs})`);
  for (const batch of [8, 128]) {
    const count = Math.ceil((batch === 8 ? 1500 : 150) * scale); // 12,000 or 19,200 images a run
    const paths = [
      ['tape', 'tape', false],
      ['hand', 'hand', false],
      ['dense', 'tape', true],
    ] as const;
    // warm up: let V8 optimise the JavaScript and move the WebAssembly to its optimising tier
    for (const [, path, dense] of paths) steps(train, batch, count, path, dense);
    const times: Record<string, number[]> = { tape: [], hand: [], dense: [] };
    for (let r = 0; r < runs; r++) {
      for (const [name, path, dense] of paths) times[name].push((steps(train, batch, count, path, dense) / (count * batch)) * 60000);
    }
    for (const [name] of paths) {
      out[`${name} batch ${batch}`] = median(times[name]);
      log(`  batch ${String(batch).padStart(3)}, ${name}: ${median(times[name]).toFixed(2)} s/epoch`);
    }
  }
  return out;
}
