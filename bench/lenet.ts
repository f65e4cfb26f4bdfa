/**
 * Seconds per training epoch (60,000 images, evaluation excluded) of LeNet-5 (examples/models/lenet.ts):
 * cross-entropy, Adam lr 0.001, batch 64, float32, as `backprop train --model examples/models/lenet.ts
 * --loss ce --optimizer adam --batch-size 64` steps. Measured over a fixed slice of an epoch (the first
 * `count` batches of a seeded shuffle of MNIST's training images) and scaled to 60,000 images.
 */
import { fileURLToPath } from 'node:url';
import { Rng, Tape, tidy } from '@backprop/graph';
import { createOptimizer, loadMnist, loadModelFile, lossOnTape, ModelNetwork, type Dataset } from '@backprop/mlp';
import { median } from './timing.ts';

export const LENET_BATCH = 64;
/** Batches per timed run: 6,400 images, a ninth of an epoch (a full epoch per run would make the bench minutes long). */
export const LENET_STEPS = 100;

const lenetFile = fileURLToPath(new URL('../examples/models/lenet.ts', import.meta.url));

/** Seconds for `count` training steps of LeNet-5 at batch 64, from the same seed each time. */
export async function lenetSteps(train: Dataset, count: number): Promise<number> {
  const model = await loadModelFile(lenetFile);
  const rng = Rng.seeded(1);
  const net = new ModelNetwork(model, rng);
  const optimizer = createOptimizer('adam', net.parameters(), { lr: 0.001 });
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const t0 = performance.now();
  for (let s = 0; s < count; s++) {
    tidy(() => {
      const batch = train.batch(order.subarray(s * LENET_BATCH, (s + 1) * LENET_BATCH));
      const tape = new Tape();
      const loss = lossOnTape(tape, 'ce', net.forward(tape, batch.X, { training: true, rng }), batch.y);
      tape.backward(loss);
      optimizer.step();
    });
  }
  return (performance.now() - t0) / 1000;
}

/** Seconds per epoch of 60,000 images: the median of `runs` timed runs of LENET_STEPS steps, after one to warm up. */
export async function benchLenet(runs = 5, train: Dataset = loadMnist().train): Promise<number> {
  await lenetSteps(train, Math.ceil(LENET_STEPS / 4));
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(((await lenetSteps(train, LENET_STEPS)) / (LENET_STEPS * LENET_BATCH)) * 60000);
  return median(times);
}

// `tsx bench/lenet.ts [runs]`: this tree's figure alone (also the child process of `pnpm bench`'s LeNet rows).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 5);
  console.log(JSON.stringify({ lenet: await benchLenet(runs) }));
}
