// The self-attention model file (examples/models/attention.ts) on its toy sequence task, from the
// command line: trained, gradchecked on the loss it trains on, and its predictions; and `predict`
// of a regression model printing values, not an argmax.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadArrays } from '@backprop/mlp';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-attention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const attention = 'examples/models/attention.ts',
  pointer = 'examples/data/pointer.npz';
const json = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.stderr).toBe('');
  const text = r.stdout.trim();
  return JSON.parse(text.startsWith('{\n') ? text : text.split('\n').at(-1)!); // gradcheck's is indented, train's one line a event
};

describe('the pointer task (examples/data/pointer.npz)', () => {
  it("is what make.py says: 6 tokens of a one-hot digit and position, the label the digit at the first token's pointer", () => {
    const { train, test } = loadArrays(join(repoRoot, pointer));
    expect([train.count, test.count, train.shape, train.classes]).toEqual([3000, 600, [6, 12], 6]);
    for (const set of [train, test]) {
      const { X, y } = set.batch(Int32Array.from({ length: set.count }, (_, i) => i));
      const x = X.toFlatArray();
      const digit = (n: number, token: number) => x.slice((n * 6 + token) * 12, (n * 6 + token) * 12 + 6).indexOf(1);
      for (let n = 0; n < set.count; n++) {
        expect(x[(n * 6 + 3) * 12 + 6 + 3]).toBe(1); // token 3 is at position 3
        expect(y[n]).toBe(digit(n, digit(n, 0)));
      }
    }
  });
});

describe('a self-attention model file from the command line', () => {
  it('trains on the pointer task far above chance (1/6) in two epochs, with its own loss', () => {
    const out = join(dir, 'run');
    const r = backprop(['train', '--model', attention, '--data', pointer, '--lr', '0.1', '--epochs', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const result = json(r);
    expect(result.testAccuracy).toBeGreaterThan(0.9);
    const predicted = json(backprop(['predict', join(out, 'model.safetensors'), pointer, '--model-file', attention, '--json']));
    const { test } = loadArrays(join(repoRoot, pointer));
    const { y } = test.batch(Int32Array.from({ length: test.count }, (_, i) => i));
    // predict's classes, scored here against the labels, are evaluate's accuracy
    const right = (predicted.predictions as number[]).filter((p, i) => p === y[i]).length;
    expect(right / test.count).toBe(result.testAccuracy);
  });

  it("gradchecks the loss it trains on (its own, cross-entropy): the same loss as --loss ce, not hinge's", () => {
    const check = (...more: string[]) => json(backprop(['gradcheck', '--model', attention, '--random', '--json', ...more]));
    const own = check(),
      ce = check('--loss', 'ce'),
      hinge = check('--loss', 'hinge');
    expect(own.ok).toBe(true);
    expect(own.lossName).toBe('model');
    expect(own.loss).toBe(ce.loss);
    expect(own.loss).not.toBe(hinge.loss);
    expect(own.parameters.map((p: { name: string }) => p.name)).toEqual(['Wq', 'Wk', 'Wv', 'W1', 'b1', 'W2', 'b2']);
    const second = backprop(['gradcheck', '--model', attention, '--random', '--order', '2']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /^examples\/models\/attention\.ts \(one self-attention head .*\): its own loss, batch of 8 random inputs, seed 1, training mode/,
    );
  });

  it('gradchecks the network a --model-option makes, not only the defaults', () => {
    const shapes = (r: { parameters: { name: string; shape: number[] }[] }) => Object.fromEntries(r.parameters.map((p) => [p.name, p.shape]));
    const small = json(backprop(['gradcheck', '--model', attention, '--random', '--json', '--model-option', 'd=2', '--model-option', 'hidden=3']));
    expect(small.ok).toBe(true);
    expect(small.options).toEqual({ d: 2, hidden: 3 });
    expect(shapes(small)).toEqual({ Wq: [12, 2], Wk: [12, 2], Wv: [12, 2], W1: [2, 3], b1: [3], W2: [3, 6], b2: [6] });
    expect(backprop(['gradcheck', '--model', attention, '--random', '--model-option', 'width=2']).stderr).toBe(
      'backprop: examples/models/attention.ts: no option "width"; its options are d, hidden (export const options in the file)\n',
    );
    expect(backprop(['gradcheck', '--model-option', 'd=2']).stderr).toBe(
      "backprop: --model-option: options are for a model file's function of options; name the file with --model FILE\n",
    );
  });

  it("gives a regression network's own loss float targets, and refuses --loss model where there is no such loss", () => {
    const huber = backprop(['gradcheck', '--model', 'examples/models/huber.ts', '--random']);
    expect(huber.code).toBe(0);
    expect(huber.stdout.split('\n')[0]).toMatch(/: its own loss, batch of 8 random inputs and float targets, seed 1, training mode: loss /);
    const none = backprop(['gradcheck', '--model', 'examples/models/residual.ts', '--random', '--loss', 'model']);
    expect(none.stderr.trim()).toBe('backprop: --loss model: examples/models/residual.ts exports no loss(t, outputs, targets); use hinge, ce or mse');
    expect(backprop(['gradcheck', '--loss', 'model']).stderr.trim()).toBe(
      'backprop: --loss model: only a model file (--model FILE) brings its own loss; use hinge, ce or mse',
    );
  });
});

describe('predict on array data', () => {
  it("prints a regression model's predicted values, whose squared error against the targets is evaluate's MSE", () => {
    const out = join(dir, 'huber');
    expect(backprop(['train', '--model', 'examples/models/huber.ts', '--data', 'examples/data/line.npz', '--epochs', '2', '--out', out, '--quiet']).code).toBe(
      0,
    );
    const model = join(out, 'model.safetensors'),
      file = ['--model-file', 'examples/models/huber.ts'];
    const predicted = json(backprop(['predict', model, 'examples/data/line.npz', ...file, '--json']));
    const { test } = loadArrays(join(repoRoot, 'examples/data/line.npz'));
    const { Y } = test.batch(Int32Array.from({ length: test.count }, (_, i) => i));
    const targets = Y!.toFlatArray(),
      values = predicted.predictions as number[];
    expect(values).toHaveLength(200);
    const mse = values.reduce((a, v, i) => a + (v - targets[i]) ** 2, 0) / values.length;
    const evaluated = json(backprop(['evaluate', model, '--data', 'examples/data/line.npz', '--loss', 'mse', ...file, '--json']));
    expect(mse).toBeCloseTo(evaluated.mse, 5);
    const text = backprop(['predict', model, 'examples/data/line.npz', ...file, '--limit', '3']);
    expect(text.stdout).toMatch(/^examples\/data\/line\.npz: 200 test examples; the first 3 predicted values:\n-?\d\.\d{3} -?\d\.\d{3} -?\d\.\d{3}\n$/);
  });

  it('refuses data of another width in one line', () => {
    const csv = join(dir, 'csv');
    rmSync(csv, { recursive: true, force: true });
    mkdirSync(csv);
    for (const f of ['train.csv', 'test.csv']) writeFileSync(join(csv, f), 'a,b,target\n1,2,3\n4,5,6\n');
    const r = backprop(['predict', join(dir, 'huber', 'model.safetensors'), csv, '--model-file', 'examples/models/huber.ts']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`backprop: ${join(dir, 'huber', 'model.safetensors')}: the model takes 4 inputs but the examples in ${csv} have 2 values`);
  });
});
