// Sweeps over a model file, as a user runs them: a sweep file naming a model file beside it that
// exports a function of options, a grid over its width, two seeds, a tiny CSV data set built here.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@backprop/graph';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-sweep-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Three classes of points in the plane, one around each of (0, 0), (2, 0), (0, 2): `label` is the class. */
function points(n: number, rng: Rng): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    return `${((c === 1 ? 2 : 0) + 0.4 * rng.normal()).toFixed(4)},${((c === 2 ? 2 : 0) + 0.4 * rng.normal()).toFixed(4)},${c}`;
  });
  return `a,b,label\n${rows.join('\n')}\n`;
}
const rng = Rng.seeded(3);
mkdirSync(join(dir, 'data'));
writeFileSync(join(dir, 'data', 'train.csv'), points(120, rng));
writeFileSync(join(dir, 'data', 'test.csv'), points(30, rng));

const modelText = `import type { ModelDefinition } from '@backprop/mlp';
export const options = { width: 4, activation: 'tanh' };
export default ({ width, activation }: typeof options) =>
  ({
    input: [2],
    outputs: 3,
    parameters: {
      w1: { shape: [2, width], init: 'xavier' },
      b1: { shape: [width], init: 'zeros' },
      w2: { shape: [width, 3], init: 'xavier' },
      b2: { shape: [3], init: 'zeros' },
    },
    forward: (t, p, X) => {
      const P = t.add(t.matmul(X, p.w1), p.b1);
      return t.add(t.matmul(activation === 'relu' ? t.relu(P) : t.tanh(P), p.w2), p.b2);
    },
  }) satisfies ModelDefinition;
`;
mkdirSync(join(dir, 'models'));
const modelPath = join(dir, 'models', 'net.ts');
writeFileSync(modelPath, modelText);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const base = { data: join(dir, 'data'), loss: 'ce', lr: 0.1, epochs: 1, batchSize: 10 };
/** A sweep file in `dir`, its model file named relative to it. */
function sweepFile(name: string, fields: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ name, model: 'models/net.ts', base, ...fields }));
  return path;
}
const runDirs = (out: string) =>
  readdirSync(out)
    .filter((d) => d.startsWith('net-'))
    .sort();
const config = (run: string) => JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).config;

describe('a sweep over a model file', () => {
  const sweep = sweepFile('widths', { grid: { 'model.width': [2, 6] }, seeds: [1, 2] });
  const out = join(dir, 'runs', 'widths');

  it("runs every width at both seeds, each with the file's SHA-256 and options, to the bits of backprop train alone", () => {
    const r = backprop(['experiment', sweep, '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const runs = runDirs(out);
    expect(runs.map((d) => d.replace(/-[0-9a-f]{8}$/, ''))).toEqual([
      'net-width2-ce-lr0.1-e1',
      'net-width2-ce-lr0.1-e1-s2',
      'net-width6-ce-lr0.1-e1',
      'net-width6-ce-lr0.1-e1-s2',
    ]);
    const wide = join(out, runs[3]);
    expect(config(wide)).toMatchObject({ seed: 2, loss: 'ce', model: { file: modelPath, sha256: sha256(modelPath), options: { width: 6 } } });
    expect(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'))).toEqual({ file: modelPath, sha256: sha256(modelPath), ownLoss: false });
    // The same run by hand: backprop train with the same settings gives the same weights, bit for bit.
    const alone = join(dir, 'alone');
    const t = backprop([
      'train',
      '--model',
      modelPath,
      '--model-option',
      'width=6',
      '--data',
      join(dir, 'data'),
      '--loss',
      'ce',
      '--lr',
      '0.1',
      '--epochs',
      '1',
      '--batch-size',
      '10',
      '--seed',
      '2',
      '--out',
      alone,
      '--quiet',
    ]);
    expect(t.code).toBe(0);
    expect(readFileSync(join(alone, 'model.safetensors')).equals(readFileSync(join(wide, 'model.safetensors')))).toBe(true);
    // evaluate and predict build the network with the options it was trained with (from its metadata)
    const evaluated = backprop(['evaluate', join(wide, 'model.safetensors'), '--data', join(dir, 'data'), '--model-file', modelPath, '--json']);
    expect(evaluated.stderr).toBe('');
    expect(JSON.parse(evaluated.stdout).accuracy).toBe(JSON.parse(readFileSync(join(wide, 'summary.json'), 'utf8')).testAccuracy);
    // and the two seeds differ (the seeds are the sweep's, not one seed twice)
    expect(readFileSync(join(out, runs[2], 'model.safetensors')).equals(readFileSync(join(wide, 'model.safetensors')))).toBe(false);
  });

  it('lists its runs with the model column, and compare takes the sweep directory (or its *) without tripping over figures/', () => {
    const list = backprop(['experiment', sweep, '--out', out, '--list']);
    expect(list.stdout).toMatch(/runs +loss +lr +epochs +seed +model +state/);
    expect(list.stdout).toMatch(/widths\/model\.width=6 +ce +0\.1 +1 +2 +net\.ts width=6 +done/);
    // --seeds 3 runs every width at seeds 1-3 (nothing run yet in another directory)
    const three = backprop(['experiment', sweep, '--out', join(dir, 'runs', 'three'), '--list', '--seeds', '3']);
    expect(three.stdout).toMatch(/\n6 runs, in .*three\n$/);
    expect(three.stdout.match(/net\.ts width=2 +pending/g)).toHaveLength(3);
    for (const args of [[out], readdirSync(out).map((f) => join(out, f))]) {
      const c = backprop(['compare', ...args]);
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
      expect(c.stdout.split('\n').filter((l) => l.includes('net-'))).toHaveLength(4);
      expect(c.stdout).toMatch(/seed +model +epochs +train accuracy +test accuracy +state/);
      expect(c.stdout).toContain('net.ts width=2');
      expect(c.stdout).toContain(`figure in ${join(out, 'compare.svg')}`);
    }
  });

  it('runs with --jobs 2 (each run a child that names the model file) and in shards, to the same bits', () => {
    const jobs = join(dir, 'runs', 'jobs');
    expect(backprop(['experiment', sweep, '--out', jobs, '--quiet', '--jobs', '2']).code).toBe(0);
    const shards = join(dir, 'runs', 'shards');
    for (const k of ['1/2', '2/2']) expect(backprop(['experiment', sweep, '--out', shards, '--quiet', '--shard', k]).code).toBe(0);
    for (const run of runDirs(out)) {
      const bits = readFileSync(join(out, run, 'model.safetensors'));
      expect(readFileSync(join(jobs, run, 'model.safetensors')).equals(bits)).toBe(true);
      expect(readFileSync(join(shards, run, 'model.safetensors')).equals(bits)).toBe(true);
    }
    const report = backprop(['report', shards]);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/model\.width 6/);
  });

  it('refuses a changed model file on resume, unrun, as train --resume does', () => {
    const copy = join(dir, 'runs', 'changed');
    expect(backprop(['experiment', sweep, '--out', copy, '--quiet', '--epochs', '1', '--subset', '30']).code).toBe(0);
    const before = sha256(modelPath);
    appendFileSync(modelPath, '// edited\n');
    try {
      const r = backprop(['experiment', sweep, '--out', copy, '--quiet', '--epochs', '1', '--subset', '30']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `backprop: ${copy}: its runs train the model file ${modelPath} as it was (SHA-256 ${before.slice(0, 12)}...), the file is now ${sha256(modelPath).slice(0, 12)}...; restore it to resume the sweep, or choose another --out`,
      );
    } finally {
      writeFileSync(modelPath, modelText);
    }
  });

  it("trains with the file's own loss unless the sweep names one", () => {
    const lossy = join(dir, 'models', 'lossy.ts');
    writeFileSync(
      lossy,
      modelText
        .replace('forward:', 'loss: (t, S, y) => t.crossEntropy(S, y as ArrayLike<number>),\n    forward:')
        .replace('satisfies ModelDefinition', 'as ModelDefinition'),
    );
    const path = join(dir, 'lossy.json');
    const { loss: _, ...noLoss } = base;
    writeFileSync(
      path,
      JSON.stringify({ name: 'lossy', model: 'models/lossy.ts', base: noLoss, runs: [{ id: 'own' }, { id: 'hinge', set: { loss: 'hinge' } }] }),
    );
    const lossOut = join(dir, 'runs', 'lossy');
    const r = backprop(['experiment', path, '--out', lossOut, '--list']);
    expect(r.stdout).toMatch(/lossy\/own +model/);
    expect(r.stdout).toMatch(/lossy\/hinge +hinge/);
  });
});

describe('the errors of a sweep over a model file, one line each', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'unknown-option',
      { grid: { 'model.widht': [2] } },
      'models/net.ts: no option "widht"; its options are width, activation (export const options in the file)',
    ],
    ['option-type', { grid: { 'model.width': ['wide'] } }, 'models/net.ts: option "width" must be a number like its default 4, got "wide"'],
    [
      'base-layers',
      { base: { ...base, layers: [2, 3] }, grid: { 'model.width': [2] } },
      'base.layers: the network comes from the model file models/net.ts; remove layers',
    ],
    [
      'grid-activation',
      { grid: { activation: ['relu'] } },
      'grid.activation: the network comes from the model file models/net.ts; vary its options instead (model.NAME)',
    ],
    ['grid-typo', { grid: { lrr: [0.1] } }, 'grid.lrr: no such setting; a grid varies the settings of base'],
    ['missing-file', { model: 'models/none.ts', grid: { 'model.width': [2] } }, 'models/none.ts: cannot read the model file: no such file'],
  ];
  it.each(cases)('%s', (name, fields, message) => {
    const path = sweepFile(name, fields);
    const r = backprop(['experiment', path, '--out', join(dir, 'runs', name)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it('refuses options without a model file, and a grid of them', () => {
    for (const [fields, message] of [
      [{ model: undefined, base: { ...base, model: { width: 2 } }, runs: [{ id: 'a' }] }, 'base.model: the options of a model file, and this file names none'],
      [{ model: undefined, grid: { 'model.width': [2] } }, 'grid.model.width: an option of a model file, and this file names none'],
    ] as const) {
      const r = backprop(['experiment', sweepFile('no-model', fields), '--list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('refuses options to a file that takes none, and a function without its defaults', () => {
    const plain = join(dir, 'models', 'plain.ts');
    writeFileSync(
      plain,
      modelText
        .replace(/export const options = .*\n/, '')
        .replace(/export default \(\{ width, activation \}: typeof options\) =>/, 'const width = 4, activation = "tanh";\nexport default'),
    );
    const noDefaults = join(dir, 'models', 'nodefaults.ts');
    writeFileSync(noDefaults, modelText.replace('export const options =', 'const options ='));
    const train = (file: string, ...more: string[]) =>
      backprop(['train', '--model', file, '--data', join(dir, 'data'), '--epochs', '1', '--out', join(dir, 'never'), ...more]);
    expect(train(plain, '--model-option', 'width=2').stderr.trim()).toBe(
      `backprop: ${plain}: takes no options (its default export is a model, not a function of options); remove the option "width"`,
    );
    expect(train(noDefaults).stderr.trim()).toBe(
      `backprop: ${noDefaults}: its default export is a function of options; export their defaults too, e.g. export const options = { width: 16 }`,
    );
    expect(train(modelPath, '--model-option', 'width').stderr.trim()).toBe('backprop: --model-option width: expected NAME=VALUE, e.g. width=16');
    expect(train(modelPath, '--model-option', 'width=2', '--model-option', 'width=3').stderr.trim()).toBe('backprop: --model-option width: given twice');
    expect(backprop(['train', '--model-option', 'width=2', '--data', join(dir, 'data')]).stderr.trim()).toBe(
      "backprop: --model-option: options are for a model file's function of options; name the file with --model FILE",
    );
  });
});
