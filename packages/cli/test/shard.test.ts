// A sweep past one machine: shards run by GNU parallel, merged by `backprop report DIR...` into the
// report a single process makes; --shard auto under SLURM and Kubernetes; merges that must be
// refused; `backprop compare`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShard } from '../src/experiments/plan.ts';
import { backprop, bin, hangLimit } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sweep = join(dir, 'sweep.json');
const runsOf = (out: string) =>
  readdirSync(out)
    .filter((f) => existsSync(join(out, f, 'config.json')))
    .sort();
/** results.json without the timings, which differ from run to run. */
const results = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'), (k, v) => (k === 'seconds' ? undefined : v));
/** A report's tables without the minutes column. */
const tables = (stdout: string) => stdout.replace(/ \| [\d.]+ \|$/gm, ' | <minutes> |').replace(/^report in .*$/m, '');

// GNU parallel (Debian's `parallel`): in CI (.ci/run installs it) the test must run, not be skipped.
const parallel = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
const hasParallel = parallel.status === 0 && /GNU parallel/.test(parallel.stdout);
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const missing = 'GNU parallel is missing (apt-get install parallel)';
if (!hasParallel && !inCI) console.warn(`shard.test.ts: ${missing}; the GNU parallel test is skipped (outside CI)`);

beforeAll(() => {
  writeFileSync(
    sweep,
    JSON.stringify({
      name: 'tiny',
      base: { layers: [784, 16, 10], init: 'xavier', epochs: 1, subset: 400 },
      grid: { lr: [0.05, 0.01] },
      seeds: [1, 2, 3],
      findings: [{ text: 'lr 0.05 beats lr 0.01', type: 'order', runs: ['lr=0.05', 'lr=0.01'] }],
    }),
  );
  const single = backprop(['experiment', sweep, '--out', join(dir, 'single'), '--quiet']);
  expect([single.code, single.stderr]).toEqual([0, '']);
});

describe('shards under GNU parallel', () => {
  it('three shards run by parallel, merged with backprop report, give the report of a single process', (context) => {
    if (!hasParallel && inCI) throw new Error(`${missing}: in CI (CI=${process.env.CI}) the GNU parallel test must run, not be skipped`);
    if (!hasParallel) context.skip(missing);
    const shards = join(dir, 'shards');
    // The README's command, with node instead of npx.
    const r = spawnSync(
      'parallel',
      [
        '--will-cite',
        '--halt',
        'now,fail=1',
        process.execPath,
        bin,
        'experiment',
        sweep,
        '--shard',
        '{}/3',
        '--out',
        join(shards, 'shard-{}'),
        '--quiet',
        ':::',
        '1',
        '2',
        '3',
      ],
      { encoding: 'utf8', timeout: hangLimit },
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    const dirs = [1, 2, 3].map((k) => join(shards, `shard-${k}`));
    expect(dirs.map((d) => runsOf(d).length)).toEqual([2, 2, 2]);
    expect(dirs.flatMap(runsOf).sort()).toEqual(runsOf(join(dir, 'single')));
    const merged = backprop(['report', ...dirs, '--out', join(dir, 'merged')]);
    expect(merged.code).toBe(0);
    expect(results(join(dir, 'merged'))).toEqual(results(join(dir, 'single')));
    expect(tables(merged.stdout)).toBe(tables(backprop(['report', join(dir, 'single')]).stdout));
    expect(merged.stdout).toMatch(/\| lr 0\.05 \| \d+\.\d\d% ± \d\.\d\d \| \d+\.\d\d% ± \d\.\d\d \| [\d.]+ \|/);
    expect(readdirSync(join(dir, 'merged', 'figures')).sort()).toEqual(['loss.svg', 'test-accuracy.svg']);
  });
});

describe('--shard auto', () => {
  it('takes K and N from a SLURM job array (0- or 1-based, stepped) or a Kubernetes Indexed Job', () => {
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' })).toEqual({ k: 2, n: 3 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' })).toEqual({ k: 3, n: 3 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '14', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({
      k: 3,
      n: 4,
    });
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '0', BACKPROP_SHARD_COUNT: '3' })).toEqual({ k: 1, n: 3 });
    expect(() => parseShard('auto', {})).toThrow(
      '--shard auto: neither SLURM_ARRAY_TASK_ID (a SLURM job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N',
    );
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '0' })).toThrow(
      "--shard auto: JOB_COMPLETION_INDEX is set but BACKPROP_SHARD_COUNT is not; set it to the Job's completions (see examples/kubernetes-job.yaml)",
    );
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '3', BACKPROP_SHARD_COUNT: '3' })).toThrow(
      '--shard auto: JOB_COMPLETION_INDEX=3, BACKPROP_SHARD_COUNT=3 do not make a shard K of N with 1 <= K <= N',
    );
  });

  it('--shard "" (an unset variable in a script) is an error naming the form, not every run', () => {
    for (const args of [['--list'], ['--quiet']]) {
      const r = backprop(['experiment', sweep, ...args, '--shard', '', '--out', join(dir, 'empty-shard')]);
      expect([r.code, r.stdout, r.stderr]).toEqual([
        2,
        '',
        'backprop: --shard "": expected K/N with 1 <= K <= N, e.g. 1/4, or auto (under SLURM or a Kubernetes Indexed Job)\n',
      ]);
    }
    expect(existsSync(join(dir, 'empty-shard'))).toBe(false);
  });

  it('picks the same runs as the explicit shard', () => {
    const list = (args: string[], env?: Record<string, string>) =>
      backprop(['experiment', sweep, '--list', '--out', join(dir, 'single'), ...args], { env }).stdout;
    const explicit = list(['--shard', '2/3']);
    expect(explicit).toMatch(/\n2 runs in shard 2\/3 \(of 6\), in /);
    expect(list(['--shard', 'auto'], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' })).toBe(explicit);
    expect(list(['--shard', 'auto'], { JOB_COMPLETION_INDEX: '1', BACKPROP_SHARD_COUNT: '3' })).toBe(explicit);
  });
});

describe('backprop report DIR... refuses what does not belong together', () => {
  it('a run directory whose config.json says other settings than its name claims', () => {
    const copy = join(dir, 'edited');
    cpSync(join(dir, 'single'), copy, { recursive: true });
    const [key] = runsOf(copy);
    const path = join(copy, key, 'config.json');
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...saved, config: { ...saved.config, lr: 0.5 } }));
    const r = backprop(['report', join(dir, 'single'), copy, '--out', join(dir, 'refused')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `backprop: ${path}: its settings disagree with what its directory name claims (run tiny/lr=0.01, seed 1): lr 0.5 where the run's name claims 0.01; it was edited, renamed or made by another version: move it away, or run it again\n`,
    );
  });

  it('directories run with other overrides, or of another sweep; several directories without --out', () => {
    const quick = join(dir, 'quick');
    cpSync(join(dir, 'single'), quick, { recursive: true });
    writeFileSync(join(quick, 'overrides.json'), '{"epochs":2}');
    const single = join(dir, 'single');
    expect(backprop(['report', single, quick, '--out', join(dir, 'refused')]).stderr).toBe(
      `backprop: ${quick}: was run with overrides epochs 2, ${single} with none (overrides.json): not runs of the same settings; report them separately\n`,
    );
    const other = join(dir, 'other');
    cpSync(join(dir, 'single'), other, { recursive: true });
    writeFileSync(join(other, 'sweep.json'), JSON.stringify({ name: 'other', grid: { lr: [0.1] } }));
    expect(backprop(['report', single, other, '--out', join(dir, 'refused')]).stderr).toBe(
      `backprop: ${other}: holds the sweep 'other', ${single} the sweep 'tiny': not runs of one experiment; report them separately\n`,
    );
    expect(backprop(['report', single, other]).stderr).toBe('backprop: 2 directories to merge: name the directory for the merged report with --out DIR\n');
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });
});

describe('backprop compare', () => {
  it('prints the settings that differ and the final accuracies of each run, and writes a figure of their curves', () => {
    const single = join(dir, 'single');
    const [a, b] = runsOf(single)
      .filter((k) => !/-s[23]-/.test(k))
      .map((k) => join(single, k));
    const figure = join(dir, 'compare.svg');
    const r = backprop(['compare', a, b, '--figure', figure]);
    expect(r.code).toBe(0);
    const finals = [a, b].map((d) => JSON.parse(readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!));
    const lr = [a, b].map((d) => JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')).config.lr);
    const lines = r.stdout.split('\n');
    // The runs differ in lr; both are on a subset of the data, which is said too.
    expect(lines[0]).toMatch(/^run +lr +subset +epochs +train accuracy +test accuracy +state$/);
    [a, b].forEach((d, i) =>
      expect(lines[2 + i]).toBe(
        `${d}  ${String(lr[i]).padEnd(4)}  400     1       ${(100 * finals[i].trainAccuracy).toFixed(2)}%          ${(100 * finals[i].testAccuracy).toFixed(2)}%         done`,
      ),
    );
    expect(lines.at(-2)).toBe(`figure in ${figure}`);
    const svg = readFileSync(figure, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('test accuracy');
    expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(4);
    expect(backprop(['compare', a, join(dir, 'nothing')]).stderr).toBe(
      `backprop: ${join(dir, 'nothing')}: not a run directory (no config.json); give directories made by backprop train or backprop experiment\n`,
    );
  });

  it('writes its figure beside the runs by default, or where --out says; never into the current directory unasked', () => {
    // The current directory stands for a clone of the repository, where compare.svg was left untracked.
    const cwd = join(dir, 'cwd');
    cpSync(join(dir, 'single'), join(cwd, 'runs'), { recursive: true });
    const [a, b] = runsOf(join(cwd, 'runs'))
      .slice(0, 2)
      .map((k) => `runs/${k}`);
    const r = backprop(['compare', a, b], { cwd });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n').at(-2)).toBe('figure in runs/compare.svg');
    expect(readFileSync(join(cwd, 'runs', 'compare.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(join(cwd, 'compare.svg'))).toBe(false);
    // --out: a file, or a directory to hold compare.svg.
    expect(backprop(['compare', a, b, '--out', 'a.svg'], { cwd }).stdout.split('\n').at(-2)).toBe('figure in a.svg');
    expect(readFileSync(join(cwd, 'a.svg'), 'utf8')).toMatch(/^<svg/);
    expect(backprop(['compare', a, b, '--out', 'runs/' + runsOf(join(cwd, 'runs'))[2]], { cwd }).stdout).toMatch(/figure in runs\/[^/]+\/compare\.svg\n$/);
    // Runs in two directories: no place beside them; the figure needs --out, and nothing is written.
    cpSync(join(cwd, 'runs', runsOf(join(cwd, 'runs'))[3]), join(cwd, 'other', 'run'), { recursive: true });
    rmSync(join(cwd, 'runs', 'compare.svg'));
    const two = backprop(['compare', a, 'other/run'], { cwd });
    expect([two.code, two.stdout, two.stderr]).toEqual([
      2,
      '',
      'backprop: the runs are in 2 different directories, so there is no place beside them for the figure: name it with --out FILE.svg\n',
    ]);
    expect(['compare.svg', 'runs/compare.svg', 'other/compare.svg'].filter((f) => existsSync(join(cwd, f)))).toEqual([]);
  });
});
