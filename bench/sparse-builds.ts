/**
 * The evaluation's first layer, tanh(X W1 + b1) (`combineRowsTanh`), and X W1 alone (`combineRows`)
 * in this tree's kernel module against the same kernels in another build of it (a directory holding
 * kernels.wasm and kernels-fma.wasm, built by `npm run build:wasm` in another checkout, or by `asc`
 * with the flags of package.json), on the 70 MNIST batches of 1,000 the evaluation reads and a
 * random W1 of 784 x 800, in turns: CPU seconds of each, medians of `rounds` after a warm-up round.
 * Both modules share one memory; each kernel's output is checked to have this tree's bits first.
 *
 *   npx tsx bench/sparse-builds.ts DIR [rounds = 7] [plain]
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { loadMnist } from '@backprop/mlp';
import { median } from './timing.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd');
const [dir, roundsArg, build] = process.argv.slice(2);
if (!dir) throw new Error('usage: npx tsx bench/sparse-builds.ts DIR [rounds] [plain]: DIR holds the other build of kernels.wasm and kernels-fma.wasm');
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
  n = 800;
const sets = loadMnist(),
  batches = Math.floor(sets.train.count / m) + Math.floor(sets.test.count / m);
const f = new Float32Array(memory.buffer),
  u = new Uint32Array(memory.buffer);
const aAt = 1 << 20,
  bAt = aAt + batches * m * k * 4,
  biasAt = bAt + k * n * 4,
  cAt = biasAt + n * 4,
  c2At = cAt + m * n * 4,
  scratchAt = c2At + m * n * 4;
let b = 0;
for (const data of [sets.train, sets.test])
  for (let start = 0; start + m <= data.count; start += m, b++)
    f.set(
      data.batch(
        Int32Array.from({ length: m }, (_, i) => start + i),
        'float32',
      ).X.array.data as Float32Array,
      aAt / 4 + b * m * k,
    );
let seed = 1;
const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
for (let i = 0; i < k * n; i++) f[bAt / 4 + i] = 0.1 * uniform();
for (let i = 0; i < n; i++) f[biasAt / 4 + i] = 0.1 * uniform();

const kernels = ['combineRowsTanh', 'combineRows'] as const;
const call = (mod: Module, kernel: string, a: number, c: number) => mod[kernel](a, k, 1, bAt, c, m, k, n, 32, scratchAt, biasAt);
for (const kernel of kernels)
  for (const b of [0, batches - 1]) {
    call(modules['this tree'], kernel, aAt + b * m * k * 4, cAt);
    call(modules.other, kernel, aAt + b * m * k * 4, c2At);
    for (let i = 0; i < m * n; i++) if (u[cAt / 4 + i] !== u[c2At / 4 + i]) throw new Error(`${kernel}: the other build differs at entry ${i} of batch ${b}`);
  }

const times = new Map<string, number[]>();
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
for (let r = 0; r <= rounds; r++)
  for (const kernel of kernels)
    for (const [name, mod] of Object.entries(modules)) {
      const c0 = cpu();
      for (let b = 0; b < batches; b++) call(mod, kernel, aAt + b * m * k * 4, cAt);
      if (r > 0) (times.get(`${kernel}, ${name}`) ?? times.set(`${kernel}, ${name}`, []).get(`${kernel}, ${name}`)!).push(cpu() - c0);
    }
console.log(`${file}, ${batches} MNIST batches of ${m} x W1 [${k},${n}], CPU seconds, medians of ${rounds} in turns (same bits)`);
for (const kernel of kernels) {
  const mine = times.get(`${kernel}, this tree`)!,
    other = times.get(`${kernel}, other`)!;
  const ratios = mine.map((t, i) => t / other[i]);
  console.log(
    `  ${kernel.padEnd(16)} this tree ${median(mine).toFixed(3)}  other ${median(other).toFixed(3)}  ratio ${(median(mine) / median(other)).toFixed(3)}  (per round ${ratios.map((x) => x.toFixed(2)).join(' ')})`,
  );
}
