/**
 * The LeNet-5 rows' optional TensorFlow.js reference (the same-platform peer: JavaScript and WebAssembly).
 * TensorFlow.js is not a dependency of this repository; install it outside and point BACKPROP_TFJS there:
 *
 *   mkdir -p /opt/tfjs && cd /opt/tfjs && npm init -y && npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
 *   BACKPROP_TFJS=/opt/tfjs npm run bench          (or: BACKPROP_TFJS=/opt/tfjs npx tsx bench/lenet-tfjs.ts [rounds])
 *
 * Its WebAssembly backend cannot train LeNet-5 (it has no kernel for a convolution's weight gradient,
 * Conv2DBackpropFilter: the rows say so, from the attempt), so what is compared is what it can run:
 * LeNet-5's forward pass (inference, batch 64, float32) over the same images as ours, on one thread,
 * each a child process, in turns. `--child WHAT STEPS RUNS` is one child: `ours-forward`,
 * `wasm-forward`, `wasm-train` or `cpu-train` (its plain JavaScript backend, which can train, far slower),
 * printing JSON seconds per 60,000 images (wall and CPU: user + system), or the error that stopped it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, Tape, tidy } from '@backprop/graph';
import { loadMnist, loadModelFile, ModelNetwork } from '@backprop/mlp';
import { median } from './timing.ts';

const BATCH = 64,
  STEPS = 100;
const lenetFile = fileURLToPath(new URL('../examples/models/lenet.ts', import.meta.url));

/** How to install TensorFlow.js outside the repository for these rows. */
export const TFJS_INSTALL =
  'mkdir -p /opt/tfjs && cd /opt/tfjs && npm init -y && npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0, then run with BACKPROP_TFJS=/opt/tfjs';

/** The directory TensorFlow.js is installed in (BACKPROP_TFJS), or null when it is not there. */
export function tfjsDir(): string | null {
  const dir = process.env.BACKPROP_TFJS;
  return dir && existsSync(join(dir, 'node_modules/@tensorflow/tfjs/package.json')) ? dir : null;
}

type Times = { wall: number; cpu: number };
type Result = Times | { error: string };

/** Times `count` steps of `step(s)` after a quarter as many to warm up; seconds scaled to 60,000 images. */
function timed(count: number, runs: number, step: (s: number) => void): Times {
  for (let s = 0; s < Math.max(1, count >> 2); s++) step(s);
  const all: Times[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    for (let s = 0; s < count; s++) step(s);
    const c = process.cpuUsage(c0);
    all.push({ wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 });
  }
  const scale = 60000 / (count * BATCH);
  return { wall: median(all.map((t) => t.wall)) * scale, cpu: median(all.map((t) => t.cpu)) * scale };
}

/** One child: what it measures, over the first `count` batches of a seeded shuffle of MNIST's training images. */
async function child(what: string, count: number, runs: number): Promise<Result> {
  const train = loadMnist().train;
  const order = Rng.seeded(1).shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const batch = (s: number) => train.batch(order.subarray((s % 900) * BATCH, ((s % 900) + 1) * BATCH));
  if (what === 'ours-forward') {
    const net = new ModelNetwork(await loadModelFile(lenetFile), Rng.seeded(1));
    return timed(count, runs, (s) => tidy(() => void net.forward(new Tape(), batch(s).X, { training: false }).array.data[0]));
  }
  const dir = tfjsDir();
  if (!dir) throw new Error(`BACKPROP_TFJS: no TensorFlow.js there; ${TFJS_INSTALL}`);
  const require = createRequire(join(dir, 'package.json'));
  // biome-ignore lint/suspicious/noExplicitAny: loaded from outside the repository, untyped here
  const tf: any = require('@tensorflow/tfjs');
  const backend = what.startsWith('wasm') ? 'wasm' : 'cpu';
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm').setThreadsCount(1);
  await tf.setBackend(backend);
  await tf.ready();
  const net = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu' }),
      tf.layers.dense({ units: 84, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const optimizer = tf.train.adam(0.001);
  // the same images as ours, gathered and scaled by our Dataset each step (as in our steps)
  const images = (b: ReturnType<typeof batch>) => tf.tensor4d(b.X.array.data as Float32Array, [BATCH, 28, 28, 1]);
  const step = what.endsWith('forward')
    ? (s: number) => tidy(() => tf.tidy(() => void net.predict(images(batch(s))).dataSync()[0])) // every tensor of the step disposed
    : (s: number) =>
        tidy(() =>
          tf.tidy(() => {
            const b = batch(s),
              y = tf.oneHot(tf.tensor1d(Int32Array.from(b.y), 'int32'), 10);
            optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(images(b))));
          }),
        );
  try {
    return timed(count, runs, step);
  } catch (e) {
    return { error: String((e as Error).message ?? e).split('\n')[0] };
  }
}

/** One child process of `what`. */
function run(what: string, count = STEPS, runs = 1): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', what, String(count), String(runs)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench/lenet-tfjs.ts --child ${what} failed: ${r.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/**
 * `pnpm bench`'s TensorFlow.js rows: an attempt to train LeNet-5 on its WebAssembly backend (which
 * says why it cannot), then LeNet-5's forward pass, ours and TensorFlow.js's WebAssembly backend on one
 * thread, taking turns for `rounds` rounds; medians. Skipped, saying how to install it, without BACKPROP_TFJS.
 */
export function tfjsRows(record: Record<string, number>, rounds = 5): void {
  const dir = tfjsDir();
  if (!dir) {
    console.log(`\nTensorFlow.js (optional): skipped; to compare with it: ${TFJS_INSTALL}`);
    return;
  }
  const version = createRequire(join(dir, 'package.json'))('@tensorflow/tfjs/package.json').version;
  console.log(`\nTensorFlow.js ${version} (${dir}), WebAssembly backend, one thread, LeNet-5 as bench/lenet.py builds it:`);
  const training = run('wasm-train', 2);
  if ('error' in training) console.log(`  training: cannot (${training.error})`);
  else {
    console.log(`  training: ${training.wall.toFixed(2)} s/epoch`);
    record['tfjs wasm lenet (s/epoch)'] = training.wall;
  }
  const ours: Times[] = [],
    theirs: Times[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [what, into] of [
      ['ours-forward', ours],
      ['wasm-forward', theirs],
    ] as const) {
      const t = run(what);
      if ('error' in t) throw new Error(`bench/lenet-tfjs.ts --child ${what}: ${t.error}`);
      into.push(t);
    }
  }
  const m = (v: Times[], k: keyof Times) => median(v.map((t) => t[k]));
  const row = (name: string, v: Times[]) => console.log(`    ${name.padEnd(40)}${m(v, 'wall').toFixed(2).padStart(7)}${m(v, 'cpu').toFixed(2).padStart(7)}`);
  console.log(`  forward pass (inference), s per 60,000 images at batch 64, median of ${rounds} rounds in turns:`);
  console.log(`    ${''.padEnd(40)}   wall    CPU`);
  row('ours, one thread', ours);
  row('TensorFlow.js WebAssembly, one thread', theirs);
  console.log(`    ours / TensorFlow.js: wall ${(m(ours, 'wall') / m(theirs, 'wall')).toFixed(2)}, CPU ${(m(ours, 'cpu') / m(theirs, 'cpu')).toFixed(2)}`);
  record['lenet forward (s/60,000 images)'] = m(ours, 'wall');
  record['tfjs wasm lenet forward (s/60,000 images)'] = m(theirs, 'wall');
  record['lenet forward / tfjs wasm forward'] = m(ours, 'wall') / m(theirs, 'wall');
  record['lenet forward cpu / tfjs wasm forward cpu'] = m(ours, 'cpu') / m(theirs, 'cpu');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--child') console.log(JSON.stringify(await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]))));
  else tfjsRows({}, Number(process.argv[2] ?? 5));
}
