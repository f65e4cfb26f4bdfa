// Large grids: planned and listed in near-linear time up to the limit (MAX_RUNS), refused above it
// in one line before anything is expanded. No wall-clock threshold: the sizes are such that the
// quadratic planner this replaces (10,000 runs took 4.75 s, 100,000 did not finish in 15 minutes)
// could not finish within the timeouts, which are generous for the linear one on a loaded machine.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_RUNS, parseExperiment } from '../src/experiments/define.ts';
import { planRuns } from '../src/experiments/plan.ts';
import { bin, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-large-grid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * `backprop ARGS`, killed with SIGKILL after `seconds`: a process in long synchronous work does not
 * see a SIGTERM (spawnSync's default) until it ends. Its stdout may be large (a 100,000-run list).
 */
function backprop(args: string[], seconds: number) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: seconds * 1000,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 30,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A sweep of `rates` learning rates by `batches` batch sizes: rates x batches runs. */
function gridOf(rates: number, batches: number) {
  const lr = Array.from({ length: rates }, (_, i) => Number((1e-5 * (i + 1)).toFixed(5)));
  const batchSize = Array.from({ length: batches }, (_, i) => i + 1);
  return { name: 'big', base: { layers: [784, 16, 10], epochs: 1 }, grid: { lr, batchSize } };
}

describe('a grid of MAX_RUNS runs', () => {
  it('is the stated limit', () => expect(MAX_RUNS).toBe(100_000));

  it('lists all 100,000 runs (backprop experiment FILE --list)', () => {
    const path = join(dir, 'limit.json');
    writeFileSync(path, JSON.stringify(gridOf(1000, 100)));
    const r = backprop(['experiment', path, '--list', '--out', join(dir, 'limit')], 150);
    expect([r.code, r.signal, r.stderr]).toEqual([0, null, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`100000 runs, in ${join(dir, 'limit')}`);
    const rows = lines.filter((l) => l.startsWith('big/'));
    expect(rows).toHaveLength(100_000);
    expect(rows[0]).toMatch(/^big\/lr=0\.00001,batchSize=1 +784-16-10 +tanh +hinge +0\.00001 +1 +1 +pending$/);
    expect(rows.at(-1)).toMatch(/^big\/lr=0\.01,batchSize=100 +784-16-10 +tanh +hinge +0\.01 +1 +100 +pending$/);
    expect(existsSync(join(dir, 'limit'))).toBe(false); // --list writes nothing
  }, 180_000);

  it('still finds a run id used twice', () => {
    const file = gridOf(1000, 100);
    file.grid.lr[999] = file.grid.lr[0];
    expect(() => parseExperiment(file, 'twice.json')).toThrow("twice.json: runs: run id 'lr=0.00001,batchSize=1' is used twice");
  }, 120_000);
});

describe('a grid above MAX_RUNS', () => {
  it('is refused before it is expanded, in one line naming the file, the count and the way out', () => {
    // 100,172 runs: the old planner expanded them, then compared every id with every other.
    expect(() => parseExperiment(gridOf(317, 316), 'over.json')).toThrow(
      'over.json: grid: 100,172 grid points make 100,172 runs, more than the 100,000 an experiment may have; split it into several sweep files',
    );
    expect(() => parseExperiment({ ...gridOf(1000, 50), runs: [{ id: 'a' }, { id: 'b' }], seeds: [1, 2] }, 'seeds.json')).toThrow(
      'seeds.json: grid: 2 listed runs x 50,000 grid points x 2 seeds make 200,000 runs, more than the 100,000 an experiment may have; split it into several sweep files',
    );
  });

  it('of 10^10 runs: one line, exit status 2, nothing written (it crashed V8 before)', () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, JSON.stringify(gridOf(100_000, 100_000)));
    const out = join(dir, 'huge');
    for (const args of [['--list'], ['--quiet']]) {
      const r = backprop(['experiment', path, ...args, '--out', out], 60);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toBe(
        `backprop: ${path}: grid: 10,000,000,000 grid points make 10,000,000,000 runs, more than the 100,000 an experiment may have; split it into several sweep files\n`,
      );
    }
    expect(existsSync(out)).toBe(false);
  }, 150_000);

  it('made by --seeds is refused before the seeds are made', () => {
    const depth = parseExperiment({ name: 'three', runs: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] }, 'three.json');
    expect(planRuns(depth, { seeds: 33_333 })).toHaveLength(99_999);
    expect(() => planRuns(depth, { seeds: 1e9 })).toThrow(
      '--seeds 1000000000: three.json: 3 runs x 1,000,000,000 seeds make 3,000,000,000 runs, more than the 100,000 an experiment may have; run fewer seeds',
    );
    const r = backprop(['experiment', 'depth', '--list', '--seeds', '1000000000'], 60);
    expect([r.code, r.stderr]).toEqual([
      2,
      'backprop: --seeds 1000000000: experiment depth: 3 runs x 1,000,000,000 seeds make 3,000,000,000 runs, more than the 100,000 an experiment may have; run fewer seeds\n',
    ]);
  }, 120_000);
});
