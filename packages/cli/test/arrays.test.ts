import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { PNG } from 'pngjs';
import { Rng, Tensor } from '@backprop/graph';
import { loadModel, readTensorFile, scores } from '@backprop/mlp';
import { npy, npz } from '../../mlp/test/npy-writer.ts';
import { backprop, interruptAfterFirstEpoch, weightsOf } from './helpers.ts';

// Data sets built here as NumPy would save them: the suite needs no Python.
const dir = mkdtempSync(join(tmpdir(), 'cli-arrays-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** Three classes of points [n, 2, 3] around three centres (float32), labels int64. */
function blobs(n: number, rng: Rng) {
  const y = Array.from({ length: n }, () => rng.int(3));
  const x = y.flatMap((c) => Array.from({ length: 6 }, (_, j) => (j % 3 === c ? 2 : 0) + 0.5 * rng.normal()));
  return { x: npy('<f4', [n, 2, 3], x), y: npy('<i8', [n], y) };
}
/** y = x . [1, -2, 0.5, 3] + 0.3 for x uniform in [-1, 1]^4: features big-endian float64, targets float32 [n, 1]. */
function line(n: number, rng: Rng) {
  const x = Array.from({ length: n * 4 }, () => 2 * rng.uniform() - 1);
  const y = Array.from({ length: n }, (_, i) => x[4 * i] - 2 * x[4 * i + 1] + 0.5 * x[4 * i + 2] + 3 * x[4 * i + 3] + 0.3);
  return { x: npy('>f8', [n, 4], x), y: npy('<f4', [n, 1], y) };
}
function save(name: string, make: (n: number, rng: Rng) => { x: Uint8Array; y: Uint8Array }, nTrain: number, nTest: number): string {
  const rng = Rng.seeded(7),
    train = make(nTrain, rng),
    test = make(nTest, rng),
    path = join(dir, name);
  writeFileSync(path, npz({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }, true));
  return path;
}
const classes = save('blobs.npz', blobs, 600, 150);
const regression = save('line.npz', line, 400, 100);

describe('backprop train and evaluate on NumPy arrays', () => {
  it('trains and evaluates a classification set from an .npz file, with a validation split and a subset', () => {
    const out = join(dir, 'cls');
    const r = backprop([
      'train',
      '--data',
      classes,
      '--layers',
      '6,16,3',
      '--loss',
      'ce',
      '--lr',
      '0.1',
      '--batch-size',
      '16',
      '--epochs',
      '4',
      '--subset',
      '500',
      '--validation',
      '100',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/epoch 4\/4: train \d+\.\d\d% \(loss \d\.\d{4}\), test \d+\.\d\d% \(loss \d\.\d{4}\), validation \d+\.\d\d%/);
    const epoch = lines(out)
      .filter((m) => m.type === 'epoch')
      .at(-1);
    expect(epoch.testAccuracy).toBeGreaterThan(0.9);
    expect(epoch.iteration).toBe(4 * Math.ceil(400 / 16)); // 500 of the subset, less 100 held out
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.config.data).toBe(classes);
    expect(config.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    const e = backprop(['evaluate', join(out, 'model.safetensors'), '--data', classes, '--json']);
    expect(e.code).toBe(0);
    // the whole test set (150), where the run tested on the subset's 84
    expect(JSON.parse(e.stdout)).toMatchObject({ split: 'test', count: 150, lossName: 'ce' });
    const text = backprop(['evaluate', join(out, 'model.safetensors'), '--data', classes]).stdout;
    expect(text).toMatch(
      / on the test set \(150 examples\): accuracy \d+\.\d\d%, ce loss \d\.\d{4}\n\nconfusion matrix \(rows: true class, columns: predicted\)\n/,
    );
  });

  it('trains and evaluates a regression set, reporting the MSE (or MAE) where accuracy would be', () => {
    const out = join(dir, 'reg');
    const r = backprop([
      'train',
      '--data',
      regression,
      '--layers',
      '4,1',
      '--loss',
      'mse',
      '--lr',
      '0.05',
      '--batch-size',
      '16',
      '--epochs',
      '6',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/epoch 6\/6: train MSE \d\.\d{4} \(loss \d\.\d{4}\), test MSE \d\.\d{4} \(loss/);
    expect(r.stdout).toMatch(/^done: train MSE \d\.\d{4}, test MSE \d\.\d{4}; model in /m);
    const epochs = lines(out).filter((m) => m.type === 'epoch');
    expect(epochs.at(-1).testMse).toBeLessThan(0.01);
    expect(epochs.at(-1).testMse).toBeLessThan(epochs[0].testMse);
    expect(epochs[0].trainAccuracy).toBeUndefined();
    const e = JSON.parse(backprop(['evaluate', join(out, 'model.safetensors'), '--data', regression, '--json']).stdout);
    expect(e).toEqual({ model: join(out, 'model.safetensors'), split: 'test', count: 100, mse: expect.any(Number), loss: expect.any(Number), lossName: 'mse' });
    expect(e.mse).toBeCloseTo(epochs.at(-1).testMse, 6);
    const mae = join(dir, 'mae');
    const m = backprop(['train', '--data', regression, '--layers', '4,1', '--loss', 'mae', '--lr', '0.05', '--epochs', '2', '--json', '--out', mae]);
    expect(JSON.parse(m.stdout.trim().split('\n')[0])).toMatchObject({ event: 'epoch', trainMae: expect.any(Number), testMae: expect.any(Number) });
    expect(backprop(['evaluate', join(mae, 'model.safetensors'), '--data', regression]).stdout).toMatch(
      / on the test set \(100 examples\): MAE \d\.\d{4}, mae loss \d\.\d{4}\n$/,
    );
    // compare: each run's metric; a regression run beside a classification run is refused
    const c = backprop(['compare', out, mae, '--figure', join(dir, 'compare.svg')]);
    expect(c.stdout).toMatch(/epochs\s+train\s+test\s+state\n/);
    expect(c.stdout).toMatch(/ 6 +MSE \d\.\d{4} +MSE \d\.\d{4} +done\n.* 2 +MAE \d\.\d{4} +MAE \d\.\d{4} +done\n/);
    expect(readFileSync(join(dir, 'compare.svg'), 'utf8')).toContain('test MSE');
    const cls = join(dir, 'cls-one');
    expect(backprop(['train', '--data', classes, '--layers', '6,3', '--loss', 'ce', '--epochs', '1', '--quiet', '--out', cls]).code).toBe(0);
    expect(backprop(['compare', out, cls, '--figure', join(dir, 'mixed.svg')]).stderr).toBe(
      `backprop: ${out} is a regression run (its metric is MSE) and ${cls} a classification run (accuracy); compare runs of one kind\n`,
    );
  });

  it('predicts the values of a regression model on an IDX file and a PNG too, never an argmax of its one output', () => {
    const out = join(dir, 'reg-images');
    const args = ['--layers', '4,1', '--loss', 'mse', '--lr', '0.05', '--epochs', '1', '--quiet', '--out', out];
    expect(backprop(['train', '--data', regression, ...args]).code).toBe(0);
    const model = join(out, 'model.safetensors');
    // Three 2x2 images (4 pixels: the model's 4 inputs), light on dark, as an IDX file; the first also as a PNG.
    const pixels = [255, 0, 0, 0, 0, 128, 0, 0, 40, 0, 200, 10];
    const images = join(dir, 'four-pixels-idx3-ubyte');
    writeFileSync(images, Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]), Buffer.from(pixels)]));
    const png = new PNG({ width: 2, height: 2 });
    for (let i = 0; i < 4; i++) png.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
    const image = join(dir, 'four-pixels.png');
    writeFileSync(image, PNG.sync.write(png));
    const scaled = Float32Array.from(pixels, (b) => b / 255);
    const X = new Tensor(ndarray(scaled, [3, 4]));
    const want = Array.from(scores(loadModel(model).net, X).toFlatArray());
    expect(new Set(want.map((v) => v.toPrecision(4))).size).toBe(3); // three different values, none a class
    const idx = backprop(['predict', model, images]);
    expect(idx.stdout).toBe(`${images}: 3 images; the first 3 predicted values:\n${want.map((v) => v.toPrecision(4)).join(' ')}\n`);
    expect(JSON.parse(backprop(['predict', model, images, '--json']).stdout)).toEqual({ input: images, predictions: want });
    expect(backprop(['predict', model, image]).stdout).toBe(`${image}: predicted value ${want[0].toPrecision(4)}\n`);
    expect(JSON.parse(backprop(['predict', model, image, '--json']).stdout)).toEqual({ input: image, prediction: want[0], inverted: false, resized: false });
  });

  it("trains with a model file's own loss: the same bits as the built-in loss it restates", () => {
    const file = (name: string, loss: string) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        `export default {
  input: [4], outputs: 1,
  parameters: { W: { shape: [4, 1], init: 'xavier' }, b: { shape: [1], init: 'zeros' } },
  forward: (t, p, X) => t.add(t.matmul(X, p.W), p.b),
  ${loss}
};\n`,
      );
      return path;
    };
    const args = ['--data', regression, '--lr', '0.05', '--epochs', '2', '--quiet'];
    const own = join(dir, 'own'),
      builtin = join(dir, 'builtin');
    expect(backprop(['train', '--model', file('own.ts', 'loss: (t, S, Y) => t.mseLoss(S, Y),'), ...args, '--out', own]).code).toBe(0);
    expect(backprop(['train', '--model', file('plain.ts', ''), '--loss', 'mse', ...args, '--out', builtin]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(own, 'config.json'), 'utf8')).config.loss).toBe('model');
    const tensors = (run: string) => [...readTensorFile(join(run, 'model.safetensors')).tensors].map(([name, t]) => [name, Array.from(t.data)]);
    expect(tensors(own)).toEqual(tensors(builtin));
    expect(lines(own).at(-1).testMse).toBe(lines(builtin).at(-1).testMse);
    // A loss that returns no scalar is named before a run directory is made.
    const bad = backprop(['train', '--model', file('bad.ts', 'loss: (t, S, Y) => t.sub(S, Y),'), ...args, '--out', join(dir, 'badloss')]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringMatching(/bad\.ts: loss: the model file's loss returned a tensor of shape \[2,1\], not a scalar tensor \(the batch's mean loss\)\n$/),
    ]);
    expect(existsSync(join(dir, 'badloss'))).toBe(false);
  });

  it('resumes an interrupted run on array data with the bits of an uninterrupted one', async () => {
    const big = save('big.npz', blobs, 20000, 200);
    const args = ['--data', big, '--layers', '6,32,3', '--loss', 'ce', '--lr', '0.05', '--epochs', '3', '--quiet'];
    const whole = join(dir, 'whole'),
      killed = join(dir, 'killed');
    expect(backprop(['train', ...args, '--out', whole]).code).toBe(0);
    await interruptAfterFirstEpoch(args, killed, 'SIGKILL');
    expect(existsSync(join(killed, 'summary.json'))).toBe(false);
    expect(backprop(['train', '--resume', killed]).code).toBe(0);
    expect(Buffer.compare(weightsOf(join(killed, 'model.safetensors')), weightsOf(join(whole, 'model.safetensors')))).toBe(0);
  }, 120_000);

  it('trains and evaluates from train.csv and test.csv with a label column', () => {
    const d = join(dir, 'csv'),
      rng = Rng.seeded(3);
    mkdirSync(d);
    const table = (n: number) =>
      [
        'a,b,label',
        ...Array.from({ length: n }, () => {
          const c = rng.int(2);
          return `${(c * 2 + rng.normal() * 0.3).toFixed(3)},${(rng.normal() * 0.3).toFixed(3)},${c}`;
        }),
      ].join('\n') + '\n';
    writeFileSync(join(d, 'train.csv'), table(200));
    writeFileSync(join(d, 'test.csv'), table(50));
    const out = join(dir, 'csv-run');
    const r = backprop([
      'train',
      '--data',
      d,
      '--layers',
      '2,8,2',
      '--init',
      'xavier',
      '--loss',
      'ce',
      '--lr',
      '0.1',
      '--epochs',
      '4',
      '--quiet',
      '--out',
      out,
    ]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(backprop(['evaluate', join(out, 'model.safetensors'), '--data', d, '--json']).stdout).accuracy).toBeGreaterThan(0.9);
  });

  it('a sweep over a regression set is refused before it runs (its tables and findings judge accuracy), never shown as a percentage', () => {
    const sweep = join(dir, 'sweep.json'),
      out = join(dir, 'sweep-out');
    writeFileSync(
      sweep,
      JSON.stringify({
        name: 'reg',
        title: 'regression',
        base: { data: regression, layers: [4, 1], loss: 'mse', lr: 0.05, epochs: 1, batchSize: 16 },
        grid: { lr: [0.05] },
      }),
    );
    const r = backprop(['experiment', sweep, '--out', out]);
    expect([r.code, r.stderr]).toEqual([
      2,
      `backprop: ${regression}: a regression set (float targets); an experiment's tables and findings judge accuracy: train its runs with backprop train and see them side by side with backprop compare\n`,
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses bad files in one line naming the file and the array, exit 2, no run directory', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'object.npz',
        npz({
          x_train: npy('<f4', [1, 4], [0, 0, 0, 0]),
          y_train: readFileSync(join(import.meta.dirname, '../../mlp/test/fixtures/npy/object.npy')),
          x_test: npy('<f4', [1, 4], [0, 0, 0, 0]),
          y_test: npy('<f4', [1], [0]),
        }),
        /object\.npz: y_train: an object array \(dtype \|O\) is a Python pickle, which is never unpickled/,
      ],
      ['cut.npz', readFileSync(regression).subarray(0, 500), /cut\.npz: not a readable \.npz archive/],
      ['magic.npz', Buffer.from('x,y\n1,2\n'), /magic\.npz: not a NumPy \.npz archive/],
    ];
    for (const [name, bytes, message] of cases) {
      writeFileSync(join(dir, name), bytes);
      const out = join(dir, `run-${name}`);
      const r = backprop(['train', '--data', join(dir, name), '--layers', '4,1', '--loss', 'mse', '--epochs', '1', '--out', out]);
      expect([name, r.code, r.stderr.split('\n').length]).toEqual([name, 2, 2]);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const hinge = backprop(['train', '--data', regression, '--layers', '4,1', '--epochs', '1', '--out', join(dir, 'hinge')]);
    expect(hinge.stderr).toBe(
      `backprop: --loss hinge needs class labels, but ${regression} has float targets (y_train: a regression set): use --loss mse or --loss mae\n`,
    );
  });
});
