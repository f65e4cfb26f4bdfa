/**
 * A training epoch of the paper's network (784-800-100-10, tanh, hinge, SGD lr 0.01, float32)
 * through the tape with our WebAssembly build and with the builds in DIR (kernels.wasm,
 * kernels-fma.wasm compiled from another commit), alternating run by run in one process: CPU
 * seconds per epoch (scaled from `steps` steps), medians of `rounds`. The build follows
 * BACKPROP_KERNELS (fused by default, `simd` for the plain one).
 *
 *   npx tsx bench/epoch-builds.ts DIR BATCH [mnist|dense] [steps] [rounds]
 */
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { Rng, Tape, tidy, zeros } from '@backprop/graph';
import { lossOnTape, MLP, SGD, loadMnist } from '@backprop/mlp';
import { readFileSync } from 'node:fs';
import { binary } from '../packages/graph/src/kernels/builds.ts';
import { loadKernels, wasmKernels } from '../packages/graph/src/kernels/wasm.ts';
import { median } from './timing.ts';

const [dir, batchArg, inputs = 'mnist', stepsArg, roundsArg] = process.argv.slice(2);
if (!dir || !batchArg) throw new Error('usage: npx tsx bench/epoch-builds.ts DIR BATCH [mnist|dense] [steps] [rounds]');
const batch = Number(batchArg),
  steps = stepsArg ? Number(stepsArg) : batch <= 8 ? 1500 : 150,
  rounds = roundsArg ? Number(roundsArg) : 7;
setFlagsFromString('--experimental-wasm-relaxed-simd');
const plain = process.env.BACKPROP_KERNELS === 'simd',
  file = plain ? 'kernels.wasm' : 'kernels-fma.wasm';
// The kernels object every op reaches through float32Kernels: its methods are swapped for each run.
const active = wasmKernels()!;
const ours = { ...loadKernels(binary(plain ? 'plain' : 'fused'))! };
const theirs = { ...loadKernels(readFileSync(new URL(file, pathToFileURL(`${dir.replace(/\/$/, '')}/`))))! };
const { train } = loadMnist();

/** CPU seconds per epoch of `steps` training steps from a fresh network (dense: random inputs with no zeros). */
function epoch(): number {
  const rng = Rng.seeded(1);
  const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
  const sgd = new SGD(net.parameters(), 0.01);
  const pool = inputs === 'dense' ? rng.tensor([steps * batch, 784], (r) => 0.05 + 0.95 * r.uniform()) : null;
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const c0 = process.cpuUsage();
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const rows = order.subarray(s * batch, (s + 1) * batch);
      let { X, y } = train.batch(rows);
      if (pool) {
        X = zeros([batch, 784]);
        X.array.data.set(pool.array.data.subarray(s * batch * 784, (s + 1) * batch * 784));
      }
      const t = new Tape();
      t.backward(lossOnTape(t, 'hinge', net.forward(t, X), y));
      sgd.step();
    });
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1e6 / (steps * batch)) * 60000;
}

const times = { ours: [] as number[], theirs: [] as number[] };
for (let r = -1; r < rounds; r++) {
  // round -1 warms up both (the optimising tiers of V8 and of the WebAssembly)
  for (const [name, kernels] of [
    ['theirs', theirs],
    ['ours', ours],
  ] as const) {
    Object.assign(active, kernels);
    const t = epoch();
    if (r >= 0) times[name].push(t);
  }
}
Object.assign(active, ours);
const [a, b] = [median(times.ours), median(times.theirs)];
console.log(
  `${file}, batch ${batch}, ${inputs} inputs, ${steps} steps a run: ours ${a.toFixed(2)} s/epoch, ${dir} ${b.toFixed(2)} s/epoch (CPU, medians of ${rounds}), ours/theirs ${(a / b).toFixed(3)}`,
);
