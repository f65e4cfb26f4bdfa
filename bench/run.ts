/** `pnpm bench`: every benchmark, printed as ratios against references measured in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { benchMatmul } from './matmul.ts';
import { benchEpoch } from './epoch.ts';

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
benchMatmul();
const ours = benchEpoch();

// The reference: NumPy (and PyTorch if installed) on the same machine, one thread, in this same run.
// OPENBLAS_CORETYPE is unset so that OpenBLAS picks its kernels for this processor (AVX-512 here).
const python = '/usr/bin/python3';
const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const ref = existsSync(python) ? spawnSync(python, ['bench/reference.py'], { env, encoding: 'utf8' }) : null;
if (!ref || ref.status !== 0) {
  console.log(`\nreference: skipped (needs ${python} with NumPy: apt-get install python3-numpy libopenblas0-pthread [python3-torch])`);
} else {
  const r = JSON.parse(ref.stdout);
  console.log(`\nreference: NumPy ${r.numpy} on ${r.blas}${r.torch ? `; PyTorch ${r.torch}` : ''}; one thread`);
  for (const batch of [8, 128]) {
    for (const lib of ['numpy', 'torch']) {
      const theirs = r[`${lib} batch ${batch}`];
      if (theirs === undefined) continue;
      const ratio = (path: string) => (ours[`${path} batch ${batch}`] / theirs).toFixed(2);
      console.log(`  batch ${String(batch).padStart(3)}: ${lib} ${theirs.toFixed(2)} s/epoch; ours / ${lib}: tape ${ratio('tape')}, hand ${ratio('hand')}`);
    }
  }
}
