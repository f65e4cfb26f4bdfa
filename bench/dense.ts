/**
 * GFLOP/s of the dense WebAssembly products on the shapes of the paper's network (784-800-100) at
 * batch 8 and 128, forward and backward, for both builds (fused multiply-add and plain SIMD):
 * CPU time (`process.cpuUsage`, so that other processes on the machine count less), median of 15
 * rounds. `npx tsx bench/dense.ts DIR` also times the builds in DIR (kernels.wasm, kernels-fma.wasm
 * compiled from another commit), alternating with ours round by round, and prints the ratio.
 */
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { Rng, tidy, type Tensor } from '@backprop/graph';
import { readFileSync } from 'node:fs';
import { binary } from '../packages/graph/src/kernels/builds.ts';
import { loadKernels, type WasmKernels } from '../packages/graph/src/kernels/wasm.ts';
import { median } from './timing.ts';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20 compiles the fused build behind this flag
const other = process.argv[2] ? pathToFileURL(`${process.argv[2].replace(/\/$/, '')}/`) : null;
const rng = Rng.seeded(1);
const shapes: [string, Tensor, Tensor][] = [
  ['batch 8    X W1    [8,784]x[784,800]', rng.randn([8, 784]), rng.randn([784, 800])],
  ['batch 8    Xᵀ G1   [784,8]ᵀx[8,800]', rng.randn([8, 784]).T, rng.randn([8, 800])],
  ['batch 8    H1 W2   [8,800]x[800,100]', rng.randn([8, 800]), rng.randn([800, 100])],
  ['batch 8    G2 W2ᵀ  [8,100]x[100,800]ᵀ', rng.randn([8, 100]), rng.randn([800, 100]).T],
  ['batch 8    H1ᵀ G2  [800,8]ᵀx[8,100]', rng.randn([8, 800]).T, rng.randn([8, 100])],
  ['batch 128  X W1    [128,784]x[784,800]', rng.randn([128, 784]), rng.randn([784, 800])],
  ['batch 128  Xᵀ G1   [784,128]ᵀx[128,800]', rng.randn([128, 784]).T, rng.randn([128, 800])],
  ['batch 128  H1 W2   [128,800]x[800,100]', rng.randn([128, 800]), rng.randn([800, 100])],
  ['batch 128  G2 W2ᵀ  [128,100]x[100,800]ᵀ', rng.randn([128, 100]), rng.randn([800, 100]).T],
  ['batch 128  H1ᵀ G2  [800,128]ᵀx[128,100]', rng.randn([128, 800]).T, rng.randn([128, 100])],
];

/** GFLOP/s of one timed repetition of a dense product (the memory it takes is reused, as in a training step). */
function gflops(w: WasmKernels, a: Tensor, b: Tensor): number {
  const [m, k] = a.shape,
    n = b.shape[1],
    flop = 2 * m * k * n,
    reps = Math.max(3, Math.round(2e8 / flop));
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) tidy(() => void w.matmul(a.array, b.array, false));
  const c = process.cpuUsage(c0);
  return (flop * reps) / ((c.user + c.system) * 1e-6) / 1e9;
}

for (const [build, bytes, file] of [
  ['fused multiply-add', binary('fused'), 'kernels-fma.wasm'],
  ['plain SIMD', binary('plain'), 'kernels.wasm'],
] as const) {
  const ours = loadKernels(bytes)!,
    theirs = other && loadKernels(readFileSync(new URL(file, other)));
  console.log(`\n${build}: GFLOP/s, CPU time, median of 15 rounds${theirs ? `; against ${file} in ${process.argv[2]}` : ''}`);
  for (const [label, a, b] of shapes) {
    const mine: number[] = [],
      old: number[] = [];
    gflops(ours, a, b);
    if (theirs) gflops(theirs, a, b); // warm up: the optimising tier
    for (let r = 0; r < 15; r++) {
      mine.push(gflops(ours, a, b));
      if (theirs) old.push(gflops(theirs, a, b));
    }
    const line = `${label.padEnd(40)} ${median(mine).toFixed(1).padStart(6)}`;
    console.log(theirs ? `${line}   other ${median(old).toFixed(1).padStart(6)}   ours/other ${(median(mine) / median(old)).toFixed(2)}` : line);
  }
}
