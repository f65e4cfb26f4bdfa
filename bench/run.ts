/**
 * `pnpm bench`: every benchmark, as ratios against references measured in the same run. The
 * machine is shared and noisy: compare numbers within one run only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kernelsName, wasmKernels } from '../packages/graph/src/kernels/wasm.ts';
import { benchMatmul } from './matmul.ts';
import { benchEpoch, type EpochTimes } from './epoch.ts';
import { benchEvaluation } from './evaluation.ts';
import { median } from './timing.ts';
import { lenetRows } from './lenet.ts';
import { tfjsRows } from './lenet-tfjs.ts';
import { benchThreads } from './threads.ts';
import { checkReferenceCore, referenceEnv, referenceIsa } from './reference-env.ts';

if (process.argv[2] === '--epoch-json') {
  // A child run of the epoch benchmark (with the kernels its environment selects), as JSON.
  console.log(JSON.stringify(benchEpoch(false, 5, process.env.BACKPROP_KERNELS === 'js' ? 0.1 : 1)));
  process.exit(0);
}

const isa = referenceIsa();
console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}, float32 kernels: ${kernelsName()}`);
console.log(
  `references (NumPy, PyTorch): ${isa === 'avx2' ? 'limited to AVX2 (--reference-isa avx2: a stand-in for a processor without AVX-512)' : "this processor's own kernels"}\n`,
);
const record: Record<string, number> = benchMatmul();

const child = (extra: NodeJS.ProcessEnv, cwd = process.cwd()): EpochTimes => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--epoch-json'], { cwd, env: { ...process.env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`epoch benchmark failed in ${cwd}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
};
const ours = child({});
const wasm = wasmKernels();
const plain = wasm ? child({ BACKPROP_KERNELS: 'simd' }) : null;
const ts = wasm ? child({ BACKPROP_KERNELS: 'js' }) : null;
for (const [k, v] of Object.entries(ours)) record[k] = v;
for (const batch of [8, 128]) {
  record[`tape / hand, batch ${batch}`] = ours[`tape batch ${batch}`] / ours[`hand batch ${batch}`];
  if (plain) record[`tape, no fused mul-add, batch ${batch}`] = plain[`tape batch ${batch}`];
  if (ts) record[`tape, TS kernels only, batch ${batch}`] = ts[`tape batch ${batch}`];
}
console.log("\nepoch of the paper's network (784-800-100-10, tanh, hinge, SGD lr 0.01, float32; 60,000 images, training only), s/epoch, median of 5");
console.log('(dense inputs: the tape on random inputs with no zeros, so that nothing is skipped)');
console.log('                     tape    hand  tape/hand  tape, dense inputs' + (ts ? '  tape, no fused mul-add  tape, TS kernels only' : ''));
for (const batch of [8, 128]) {
  const t = ours[`tape batch ${batch}`],
    h = ours[`hand batch ${batch}`];
  console.log(
    `  batch ${String(batch).padStart(3)}        ${t.toFixed(2).padStart(7)} ${h.toFixed(2).padStart(7)} ${(t / h).toFixed(3).padStart(10)}` +
      `${ours[`dense batch ${batch}`].toFixed(2).padStart(20)}` +
      (plain && ts ? `${plain[`tape batch ${batch}`].toFixed(2).padStart(25)}${ts[`tape batch ${batch}`].toFixed(2).padStart(23)}` : ''),
  );
}

// --against DIR: the same epoch benchmark in another checkout (an older commit, installed), the two
// taking turns as whole child processes, so that a change is measured against what it replaces in one run.
const at = process.argv.indexOf('--against');
if (at > 0) {
  const dir = resolve(process.argv[at + 1] ?? '');
  if (!existsSync(join(dir, 'bench/run.ts'))) throw new Error(`--against ${dir}: no bench/run.ts there; give the root of an installed checkout`);
  const commit = spawnSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim();
  const rounds = 3,
    mine: EpochTimes[] = [ours],
    theirs: EpochTimes[] = [];
  for (let r = 0; r < rounds; r++) {
    theirs.push(child({}, dir));
    if (r < rounds - 1) mine.push(child({}));
  }
  console.log(`\nagainst ${dir} (${commit}), s/epoch, median of ${rounds} child runs each, taking turns:`);
  for (const key of Object.keys(ours)) {
    if (!theirs.every((t) => key in t)) continue;
    const a = median(mine.map((t) => t[key])),
      b = median(theirs.map((t) => t[key]));
    console.log(`  ${key.padEnd(16)} this tree ${a.toFixed(2).padStart(6)}  that tree ${b.toFixed(2).padStart(6)}  ratio ${(a / b).toFixed(3)}`);
    record[`${key}, this tree / ${commit.split(' ')[0]}`] = a / b;
  }
}

// The reference: NumPy (and PyTorch if installed) on the same machine, one thread, in this same run.
// OpenBLAS picks its kernels for this processor (AVX-512 here), or AVX2's with --reference-isa avx2.
const python = '/usr/bin/python3';
const env = referenceEnv(1);
const ref = existsSync(python) ? spawnSync(python, ['bench/reference.py'], { env, encoding: 'utf8' }) : null;
// Both cores: NumPy with two OpenBLAS threads at batch 128, against our run as it trains (one thread
// for the step; the second core evaluates during `backprop train`, which this epoch does not include).
const ref2 =
  ref?.status === 0
    ? spawnSync(python, ['bench/reference.py', '--batch', '128'], { env: { ...env, OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2' }, encoding: 'utf8' })
    : null;
if (!ref || ref.status !== 0) {
  console.log(`\nreference: skipped (needs ${python} with NumPy: apt-get install python3-numpy libopenblas0-pthread [python3-torch])`);
} else {
  const r = JSON.parse(ref.stdout);
  checkReferenceCore(r.core);
  console.log(
    `\nreference, one thread: NumPy ${r.numpy} (hand-derived backprop) on ${r.blas} (${r.core ?? 'unknown'} kernels)${r.torch ? `; PyTorch ${r.torch} eager` : ''}`,
  );
  // Debian's netlib BLAS (libblas3, which python3-torch pulls in) is ~10x slower than OpenBLAS: a ratio against it means nothing.
  if (!/openblas/i.test(r.blas))
    console.log(`  warning: NumPy runs on ${r.blas}, not OpenBLAS; install libopenblas0-pthread (apt-get) for a meaningful reference`);
  for (const batch of [8, 128]) {
    for (const lib of ['numpy', 'torch']) {
      const theirs = r[`${lib} batch ${batch}`];
      if (theirs === undefined) continue;
      const ratio = (path: string) => (ours[`${path} batch ${batch}`] / theirs).toFixed(2);
      console.log(
        `  batch ${String(batch).padStart(3)}: ${lib} ${theirs.toFixed(2)} s/epoch; ours / ${lib}: tape ${ratio('tape')}, hand ${ratio('hand')}, tape on dense inputs ${ratio('dense')}`,
      );
      record[`${lib} batch ${batch}`] = theirs;
      for (const path of ['tape', 'hand', 'dense']) record[`${path} / ${lib}, batch ${batch}`] = ours[`${path} batch ${batch}`] / theirs;
    }
  }
  if (ref2?.status === 0) {
    const out2 = JSON.parse(ref2.stdout);
    checkReferenceCore(out2.core);
    const two = out2['numpy batch 128'];
    console.log(
      `  batch 128: numpy, two OpenBLAS threads, ${two.toFixed(2)} s/epoch; ours (one thread) / numpy two threads: tape ${(ours['tape batch 128'] / two).toFixed(2)}`,
    );
    record['numpy two threads batch 128'] = two;
    record['tape / numpy two threads, batch 128'] = ours['tape batch 128'] / two;
  }
}

// The evaluation of 70,000 images (bench/evaluation.ts), in turns with PyTorch on one thread when it is installed.
const evaluation = benchEvaluation(5, true, python);
record['evaluation, 70,000 images (CPU s)'] = evaluation.ours.cpu;
if (evaluation.torch) {
  record['torch evaluation, one thread (CPU s)'] = evaluation.torch.cpu;
  record['evaluation / torch (CPU)'] = evaluation.ours.cpu / evaluation.torch.cpu;
  record['evaluation / torch (wall)'] = evaluation.ours.wall / evaluation.torch.wall;
}

// LeNet-5's training epoch beside PyTorch (bench/lenet.ts).
lenetRows(record);
// TensorFlow.js beside it where BACKPROP_TFJS points at an install (bench/lenet-tfjs.ts says how).
tfjsRows(record);

// Both cores for one run: the kernel threads (bench/threads.ts), with NumPy on two threads in turns.
Object.assign(record, await benchThreads(python));

// --json FILE: every number of this run, for bench/table.ts (the README's table of several runs).
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(record, null, 1) + '\n');
