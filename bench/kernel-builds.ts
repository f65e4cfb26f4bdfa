/**
 * The evaluation's kernels in this tree's module against the same kernels in another build of it (a
 * directory holding kernels.wasm and kernels-fma.wasm, from `npm run build:wasm` in another checkout
 * or `asc` with the flags of package.json), in turns: the first layer tanh(X W1 + b1)
 * (`combineRowsTanh`) and X W1 alone (`combineRows`) on the 70 MNIST batches of 1,000 the evaluation
 * reads, and the second layer's dense H1 W2 (`matmul`, [1000,800] x [800,100]) on 70 products of the
 * first layer's outputs; random weights. CPU seconds of each, medians of `rounds` after a warm-up
 * round. Both modules share one memory; each kernel's output is checked to have this tree's bits first.
 *
 *   npx tsx bench/kernel-builds.ts DIR [rounds = 7] [plain]
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { loadMnist } from '@backprop/mlp';
import { median } from './timing.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd');
const [dir, roundsArg, build] = process.argv.slice(2);
if (!dir) throw new Error('usage: npx tsx bench/kernel-builds.ts DIR [rounds] [plain]: DIR holds the other build of kernels.wasm and kernels-fma.wasm');
const rounds = Number(roundsArg ?? 7),
  file = build === 'plain' ? 'kernels.wasm' : 'kernels-fma.wasm';
const memory = new WebAssembly.Memory({ initial: 8000, maximum: 65536, shared: true });
type Module = Record<string, (...args: number[]) => number>;
const load = (path: string) =>
  new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {
    env: {
      memory,
      abort: () => {
        throw new Error(`abort in ${path}`);
      },
    },
  }).exports as Module;
const modules = { 'this tree': load(new URL(`../packages/graph/build/${file}`, import.meta.url).pathname), other: load(`${dir}/${file}`) };

const m = 1000,
  k = 784,
  n = 800,
  n2 = 100,
  hidden = 10; // first-layer outputs kept for H1 W2, each used 7 times
const sets = loadMnist(),
  batches = Math.floor(sets.train.count / m) + Math.floor(sets.test.count / m);
const f = new Float32Array(memory.buffer),
  u = new Uint32Array(memory.buffer);
let end = 1 << 20;
const take = (floats: number) => {
  const at = end;
  end += 4 * floats;
  return at;
};
const X = take(batches * m * k),
  W1 = take(k * n),
  b1 = take(n),
  H1 = take(hidden * m * n),
  W2 = take(n * n2),
  C = take(m * n),
  C2 = take(m * n),
  scratch = take(m * (2 * k + 1) + 64);
let b = 0;
for (const data of [sets.train, sets.test])
  for (let start = 0; start + m <= data.count; start += m, b++)
    f.set(
      data.batch(
        Int32Array.from({ length: m }, (_, i) => start + i),
        'float32',
      ).X.array.data as Float32Array,
      X / 4 + b * m * k,
    );
let seed = 1;
const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
for (const [at, size] of [
  [W1, k * n],
  [b1, n],
  [W2, n * n2],
])
  for (let i = 0; i < size; i++) f[at / 4 + i] = 0.1 * uniform();
for (let h = 0; h < hidden; h++) modules['this tree'].combineRowsTanh(X + h * m * k * 4, k, 1, W1, H1 + h * m * n * 4, m, k, n, 32, scratch, b1);

const kernels: Record<string, { size: number; call: (mod: Module, batch: number, c: number) => void }> = {
  combineRowsTanh: { size: m * n, call: (mod, i, c) => mod.combineRowsTanh(X + i * m * k * 4, k, 1, W1, c, m, k, n, 32, scratch, b1) },
  combineRows: { size: m * n, call: (mod, i, c) => mod.combineRows(X + i * m * k * 4, k, 1, W1, c, m, k, n, 32, scratch) },
  'matmul H1 W2': { size: m * n2, call: (mod, i, c) => mod.matmul(H1 + (i % hidden) * m * n * 4, W2, c, m, n, n2) },
};
for (const [name, kernel] of Object.entries(kernels))
  for (const i of [0, batches - 1]) {
    kernel.call(modules['this tree'], i, C);
    kernel.call(modules.other, i, C2);
    for (let e = 0; e < kernel.size; e++) if (u[C / 4 + e] !== u[C2 / 4 + e]) throw new Error(`${name}: the other build differs at entry ${e} of batch ${i}`);
  }

const times = new Map<string, number[]>();
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
for (let r = 0; r <= rounds; r++)
  for (const [name, kernel] of Object.entries(kernels))
    for (const [tree, mod] of Object.entries(modules)) {
      const c0 = cpu();
      for (let i = 0; i < batches; i++) kernel.call(mod, i, C);
      const key = `${name}, ${tree}`;
      if (r > 0) (times.get(key) ?? times.set(key, []).get(key)!).push(cpu() - c0);
    }
console.log(`${file}, ${batches} calls each (batches of ${m}), CPU seconds, medians of ${rounds} in turns (same bits)`);
for (const name of Object.keys(kernels)) {
  const mine = times.get(`${name}, this tree`)!,
    other = times.get(`${name}, other`)!;
  const ratios = mine.map((t, i) => t / other[i]);
  console.log(
    `  ${name.padEnd(16)} this tree ${median(mine).toFixed(3)}  other ${median(other).toFixed(3)}  ratio ${(median(mine) / median(other)).toFixed(3)}  (per round ${ratios.map((x) => x.toFixed(2)).join(' ')})`,
  );
}
