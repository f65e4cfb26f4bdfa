// The README's examples, run as a user runs them.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hangLimit } from './limits.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: hangLimit });

describe('the README examples', () => {
  it('two-layer.ts: the hinge loss falls with each SGD step', () => {
    const r = run('examples/two-layer.ts');
    expect(r.status).toBe(0);
    const losses = [...r.stdout.matchAll(/step \d: hinge loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThan(losses[i]));
  });
  it('custom-op.ts: softplus passes gradcheck and gradgradcheck', () => {
    const r = run('examples/custom-op.ts');
    expect(r.stdout).toMatch(/^input 0 \[3,4\]: ok, 12 entries.*\ninput 0 \[3,4\]: ok, 12 entries/);
  });
  it('layers.ts: a network of the new ops trains, keeps running statistics, and passes gradcheck', () => {
    const r = run('examples/layers.ts');
    expect(r.status).toBe(0);
    const losses = [...r.stdout.matchAll(/step \d: loss (\d+\.\d+), running mean of feature 4 (\d+\.\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(losses).toHaveLength(8);
    expect(losses[7][0]).toBeLessThan(losses[0][0]);
    losses.slice(1).forEach(([, mean], i) => expect(mean).toBeGreaterThan(losses[i][1])); // blending towards the batch mean
    expect(Number(/evaluation \(running statistics, no dropout\): loss (\d+\.\d+)/.exec(r.stdout)![1])).toBeLessThan(losses[0][0]);
    expect(r.stdout.match(/^input \d \[[\d,]+\]: ok, /gm)).toHaveLength(4);
  });
  it('optimizers.ts: AdamW with a schedule lowers the loss, and a resumed optimiser takes the same next step', () => {
    const r = run('examples/optimizers.ts');
    expect(r.status).toBe(0);
    const losses = [...r.stdout.matchAll(/step \d+: loss (\d+\.\d+), next lr (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(4);
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThan(losses[i]));
    expect(r.stdout).toMatch(/one more step, original and resumed: the same bits\n$/);
  });
  it("newton.ts: Newton steps with hvp converge quadratically, and H v equals the hand-derived Hessian's", () => {
    const r = run('examples/newton.ts');
    expect(r.status).toBe(0);
    const norms = [...r.stdout.matchAll(/\|gradient\| (\S+),/g)].map((m) => Number(m[1]));
    expect(norms).toHaveLength(6);
    expect(norms[5]).toBeLessThan(1e-5);
    for (let i = 1; i < 6; i++) expect(norms[i]).toBeLessThan(norms[i - 1] / 3);
    for (let i = 4; i < 6; i++) expect(norms[i]).toBeLessThan(50 * norms[i - 1] ** 2); // quadratic near the optimum
    expect(Number(/max relative difference (\S+)/.exec(r.stdout)![1])).toBeLessThan(1e-12);
  });
  it('train-mnist.ts: one epoch on 10,000 images reaches over 85% on the test set', () => {
    const r = run('examples/train-mnist.ts');
    const m = /epoch 1: train (\d+\.\d+)%, test (\d+\.\d+)%/.exec(r.stdout);
    expect(Number(m![2])).toBeGreaterThan(85);
    expect(r.stdout).toMatch(/done\n$/);
  });
  it("slurm-sweep.sh and kubernetes-job.yaml run the README's sweep, each task its own shard into its own directory", () => {
    // A surrounding npm's npm_* settings would be read by npx as its own configuration.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const slurm = spawnSync('bash', ['examples/slurm-sweep.sh', '--list'], {
      cwd: root,
      encoding: 'utf8',
      timeout: hangLimit,
      env: { ...env, SLURM_SUBMIT_DIR: root, SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' },
    });
    expect(slurm.stderr).toBe('');
    expect(slurm.stdout).toMatch(/\n4 runs in shard 2\/3 \(of 12\), in runs\/lr-width\/shard-2\n$/);
    const job = readFileSync(`${root}/examples/kubernetes-job.yaml`, 'utf8');
    expect(job).toMatch(/completionMode: Indexed\n\s+completions: 3\n/);
    expect(job).toMatch(/- name: BACKPROP_SHARD_COUNT\n\s+value: "3"\n/);
    const command = /args:\n\s+- (.+)\n/.exec(job)![1];
    const pod = spawnSync('sh', ['-c', `${command} --list`], {
      cwd: root,
      encoding: 'utf8',
      timeout: hangLimit,
      env: { ...env, JOB_COMPLETION_INDEX: '1', BACKPROP_SHARD_COUNT: '3' },
    });
    expect(pod.stdout).toBe(slurm.stdout); // pod 1 (from 0) is task 2 (from 1): the same runs, the same directory
  });
  it('attention.ts: self-attention with batched matmul and einsum passes gradcheck and gradgradcheck', () => {
    const r = run('examples/attention.ts');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^out \[2,5,4\], dl\/dWq \[4,4\], trace of dl\/dWq -?\d+\.\d{6}\n/);
    expect(r.stdout.match(/^input \d( \(W[qkv]\))? \[[\d,]+\]: ok, /gm)).toHaveLength(4);
    expect(r.stdout).toMatch(/second derivatives: ok\n$/);
  });
  it('in-place.ts: backward after an in-place write to a saved tensor is refused, naming it', () => {
    const r = run('examples/in-place.ts');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^backward: mul saved 'W' \[2,2\] at version 0, but it was modified in place since \(now version 1\);/);
    expect(r.stdout).toMatch(/W\.version 1, dl\/dW\[0,0\] 23\n$/);
  });
});
