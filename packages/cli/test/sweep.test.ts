// Sweep files: the format (the paper's experiments use it too), its errors naming file and field,
// grid expansion, seeds, and the JSON schema shipped for editors.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { experimentsDir, loadExperiments, parseExperiment, readExperimentFile } from '../src/experiments/define.ts';
import { planRuns } from '../src/experiments/plan.ts';
import { schemaPath, sweepJsonSchema } from '../src/experiments/schema.ts';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

const grid = {
  name: 'grid',
  base: { layers: [784, 32, 10], epochs: 1, subset: 400 },
  grid: {
    lr: [0.1, 0.01],
    layers: [
      [784, 32, 10],
      [784, 64, 10],
    ],
  },
  seeds: [1, 2, 3],
};

describe('a sweep file', () => {
  it('expands a grid into its cartesian product, the first setting varying slowest, and repeats every run for each seed', () => {
    const e = parseExperiment(grid, 'grid.json');
    expect(e.runs.map((r) => r.id)).toEqual(['lr=0.1,layers=784-32-10', 'lr=0.1,layers=784-64-10', 'lr=0.01,layers=784-32-10', 'lr=0.01,layers=784-64-10']);
    expect(e.runs[1].label).toBe('lr 0.1, layers 784-64-10');
    const plan = planRuns(e);
    expect(plan).toHaveLength(12);
    expect(plan.slice(0, 3).map((r) => [r.id, r.seed, r.config.lr, r.config.layers.join('-'), r.config.epochs])).toEqual([
      ['lr=0.1,layers=784-32-10', 1, 0.1, '784-32-10', 1],
      ['lr=0.1,layers=784-32-10', 2, 0.1, '784-32-10', 1],
      ['lr=0.1,layers=784-32-10', 3, 0.1, '784-32-10', 1],
    ]);
    expect(new Set(plan.map((r) => r.key)).size).toBe(12);
    // The seed is in the directory name when it is not 1 (so that the paper's runs at seed 1 keep theirs).
    expect(plan[0].key).toMatch(/^32-tanh-hinge-lr0\.1-e1-n400-[0-9a-f]{8}$/);
    expect(plan[1].key).toMatch(/^32-tanh-hinge-lr0\.1-e1-n400-s2-[0-9a-f]{8}$/);
    // --seeds N replaces the file's seeds by 1..N.
    expect(planRuns(e, { seeds: 2 }).map((r) => r.seed)).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
  });

  it('crosses every listed run with the grid, and defaults to the figures of every run and the seed 1', () => {
    const e = parseExperiment(
      {
        name: 'acts',
        runs: [
          { id: 'relu', set: { activation: 'relu' } },
          { id: 'tanh', label: 'tanh', set: { activation: 'tanh' } },
        ],
        grid: { lr: [0.1, 0.01] },
      },
      'acts.json',
    );
    expect(e.runs.map((r) => [r.id, r.label])).toEqual([
      ['relu,lr=0.1', 'relu, lr 0.1'],
      ['relu,lr=0.01', 'relu, lr 0.01'],
      ['tanh,lr=0.1', 'tanh, lr 0.1'],
      ['tanh,lr=0.01', 'tanh, lr 0.01'],
    ]);
    expect(planRuns(e).map((r) => `${r.config.activation} ${r.config.lr} ${r.seed}`)).toEqual(['relu 0.1 1', 'relu 0.01 1', 'tanh 0.1 1', 'tanh 0.01 1']);
    expect(e.figures.map((f) => [f.id, f.kind, f.runs.length])).toEqual([
      ['test-accuracy', 'test-accuracy', 4],
      ['loss', 'loss', 4],
    ]);
  });

  it("keeps the directories of the paper's runs at seed 1 as they were named before seeds existed", () => {
    const depth = loadExperiments().find((e) => e.name === 'depth')!;
    expect(planRuns(depth).map((r) => r.key)).toEqual([
      '100-tanh-hinge-lr0.01-e10-58618d5b',
      '800x100-tanh-hinge-lr0.01-e10-f0de9dbe',
      '600x800x100-tanh-hinge-lr0.01-e10-50b1431a',
    ]);
    expect(planRuns(depth, { seeds: 2 }).map((r) => r.key)[1]).toBe('100-tanh-hinge-lr0.01-e10-s2-55634781');
  });

  it('names the file and the field of every error', () => {
    const cases: [unknown, string][] = [
      [{ ...grid, grid: { lr: [0.1, -1] } }, 'bad.json: grid.lr.1: Too small: expected number to be >0'],
      [{ ...grid, base: { lrr: 0.1 } }, 'bad.json: base: Unrecognized key: "lrr"'],
      [{ name: 'x', runs: [{ id: 'a', set: { epochs: 'ten' } }] }, 'bad.json: runs.0.set.epochs: Invalid input: expected number, received string'],
      [
        { name: 'x', runs: [{ id: 'a', set: {} }], figures: [{ id: 'f', title: 'F', kind: 'weights', runs: ['a'] }] },
        'bad.json: figures.0.kind: Invalid option: expected one of "loss"|"train-accuracy"|"test-accuracy"',
      ],
      [{ name: 'my sweep', grid: { lr: [0.1] } }, 'bad.json: name: letters, digits, "-", "_" and "." only (it names the directory of the runs)'],
      [{ name: 'x' }, 'bad.json: runs: an experiment needs runs, a grid, or both'],
      [{ ...grid, seeds: [1, 2, 1] }, 'bad.json: seeds: seed 1 is listed twice'],
      [{ ...grid, base: { seed: 4 } }, 'bad.json: base.seed: give the seeds in "seeds" only'],
      [{ name: 'x', grid: { seed: [1, 2] } }, 'bad.json: grid.seed: to repeat every run over seeds, use "seeds": [1, 2, 3]'],
      [
        { name: 'x', runs: [{ id: 'a', set: { lr: 0.1 } }], grid: { lr: [0.1, 0.2] } },
        'bad.json: runs.0.set.lr: is also a setting of the grid, which would override it; vary it in one place',
      ],
      [{ name: 'x', runs: [{ id: 'a' }, { id: 'a' }] }, "bad.json: runs: run id 'a' is used twice"],
      [
        { ...grid, findings: [{ text: 'lr 0.1 wins', type: 'order', runs: ['lr=0.1', 'lr=0.01'] }] },
        "bad.json: findings.0.runs.0: no run 'lr=0.1'; the runs are 'lr=0.1,layers=784-32-10', 'lr=0.1,layers=784-64-10', 'lr=0.01,layers=784-32-10', 'lr=0.01,layers=784-64-10'",
      ],
    ];
    for (const [value, message] of cases) expect(() => parseExperiment(value, 'bad.json'), message).toThrow(message);
    // The settings of each run together, once expanded: the grid point is named.
    const step = parseExperiment({ name: 'x', grid: { schedule: ['constant', 'step'] } }, 'steps.json');
    expect(() => planRuns(step)).toThrow(`steps.json: run 'schedule=step': field "stepEvery": the step schedule needs it (the epochs between two steps)`);
    expect(() => readExperimentFile(file('broken.json', '{"name": "x",'))).toThrow(/broken.json: not valid JSON \(.+\)$/);
    expect(() => readExperimentFile(join(dir, 'missing.json'))).toThrow(
      /missing.json: no such file; a sweep file is JSON as described in docs\/experiments.md/,
    );
  });

  it('refuses a bad file on the command line with one line, exit 2, and no directory of runs', () => {
    const path = file('bad-grid.json', { ...grid, grid: { lr: [0.1, 'fast'] } });
    const out = join(dir, 'never');
    const r = backprop(['experiment', path, '--out', out]);
    expect([r.code, r.stderr]).toEqual([2, `backprop: ${path}: grid.lr.1: Invalid input: expected number, received string\n`]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a sweep over seeds, run', () => {
  it('tables the mean ± sd of each run over its seeds (and each seed on request), draws bands, lists seeds, and skips finished runs', () => {
    const path = file('seeds.json', {
      name: 'seeds',
      base: { layers: [784, 16, 10], init: 'xavier', epochs: 2, subset: 400 },
      grid: { lr: [0.05, 0.01] },
      seeds: [1, 2],
    });
    const out = join(dir, 'seeds');
    const r = backprop(['experiment', path, '--out', out, '--jobs', '2', '--each-seed']);
    expect(r.code).toBe(0);
    const plan = planRuns(readExperimentFile(path));
    const finals = plan.map((p) =>
      JSON.parse(
        readFileSync(join(out, p.key, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .at(-1)!,
      ),
    );
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    const cell = (a: number, b: number) => `${pct((a + b) / 2)} ± ${((100 * Math.abs(a - b)) / Math.SQRT2).toFixed(2)}`; // the sd of two values is |a - b| / sqrt 2
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      '### seeds (`seeds`)',
      '',
      '| run | train accuracy (mean ± sd, 2 seeds) | test accuracy (mean ± sd) | minutes (all seeds) |',
      '|---|---|---|---|',
      expect.stringMatching(
        `^\\| lr 0\\.05 \\| ${cell(finals[0].trainAccuracy, finals[1].trainAccuracy)} \\| ${cell(finals[0].testAccuracy, finals[1].testAccuracy)} \\| [\\d.]+ \\|$`,
      ),
      expect.stringMatching(`^\\|   seed 1 \\| ${pct(finals[0].trainAccuracy)} \\| ${pct(finals[0].testAccuracy)} \\| [\\d.]+ \\|$`),
      expect.stringMatching(`^\\|   seed 2 \\| ${pct(finals[1].trainAccuracy)} \\| ${pct(finals[1].testAccuracy)} \\| [\\d.]+ \\|$`),
      expect.stringMatching(`^\\| lr 0\\.01 \\| ${cell(finals[2].trainAccuracy, finals[3].trainAccuracy)} \\| `),
      expect.stringMatching(/^\|   seed 1 \| /),
    ]);
    // Each figure: a band (vega-lite's errorband, drawn translucent, and its legend symbol) and a mean line per run.
    for (const figure of ['test-accuracy.svg', 'loss.svg']) expect(readFileSync(join(out, 'figures', figure), 'utf8').match(/opacity="0.25"/g)).toHaveLength(4);
    const again = backprop(['experiment', path, '--out', out]);
    expect(again.stderr).toMatch(/^4 of 4 runs already complete; 0 to run\n/);
    const list = backprop(['experiment', path, '--list', '--out', out]).stdout.split('\n');
    expect(list[0]).toMatch(/^runs +layers +activation +loss +lr +epochs +seed +state$/);
    expect(list[3]).toMatch(/^seeds\/lr=0\.05 +784-16-10 +tanh +hinge +0\.05 +2 +2 +done$/);
  });
});

describe('a sweep with early stopping', () => {
  it('says which runs stopped early, at one seed and over seeds', () => {
    // From epoch 2 the rate is 1e-30 of itself: the validation loss stops improving, and patience 1 ends the run after epoch 2.
    const base = {
      layers: [784, 16, 10],
      init: 'xavier',
      epochs: 6,
      subset: 500,
      validation: 100,
      patience: 1,
      schedule: 'step',
      stepEvery: 1,
      stepGamma: 1e-30,
    };
    const one = backprop([
      'experiment',
      file('early1.json', { name: 'early1', base, runs: [{ id: 'a', label: 'patient' }] }),
      '--out',
      join(dir, 'early1'),
      '--quiet',
    ]);
    expect(one.code).toBe(0);
    const table = (out: string) => backprop(['report', join(dir, out)]).stdout;
    expect(table('early1')).toMatch(/^\| patient \(stopped early at epoch 2\) \| \d+\.\d\d% \| \d+\.\d\d% \| [\d.]+ \|$/m);
    expect(
      backprop([
        'experiment',
        file('early2.json', { name: 'early2', base, runs: [{ id: 'a', label: 'patient' }], seeds: [1, 2] }),
        '--out',
        join(dir, 'early2'),
        '--quiet',
      ]).code,
    ).toBe(0);
    expect(table('early2')).toMatch(/^\| patient \(2 of 2 stopped early\) \| /m);
  });
});

describe('the JSON schema for editors (packages/cli/sweep.schema.json)', () => {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  const validate = new Ajv2020({ strict: false }).compile(schema);

  it('is the one generated from the zod schema (npm run schema writes it)', () => {
    expect(readFileSync(schemaPath, 'utf8')).toBe(sweepJsonSchema());
  });
  it("accepts the paper's experiment files and the README's sweep, and rejects what the CLI rejects field by field", () => {
    for (const f of readdirSync(experimentsDir)) expect(validate(JSON.parse(readFileSync(join(experimentsDir, f), 'utf8'))), f).toBe(true);
    expect(validate(grid)).toBe(true);
    expect(validate(JSON.parse(readFileSync(join(experimentsDir, '../../../examples/sweep.json'), 'utf8')))).toBe(true);
    expect(validate({ ...grid, grid: { lr: [0.1, -1] } })).toBe(false);
    expect(validate({ ...grid, base: { lrr: 0.1 } })).toBe(false);
    expect(validate({ ...grid, seeds: [1.5] })).toBe(false);
  });
});
