import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { Rng } from '@backprop/graph';
import { defaultMnistDir, loadMnist, loadModel, MLP, predict, saveModel } from '@backprop/mlp';
import { backprop, withClosedStdout } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-model-'));
const model = join(dir, 'run', 'model.safetensors');
const { test } = loadMnist();
beforeAll(() => {
  const r = backprop(['train', '--layers', '784,32,10', '--init', 'xavier', '--subset', '3000', '--epochs', '1', '--quiet', '--out', join(dir, 'run')]);
  expect(r.code).toBe(0);
}, 300_000); // a training run: on a loaded machine, longer than the 10 s a hook gets by default
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backprop evaluate', () => {
  it('reports accuracy, loss and a confusion matrix that agree with the library', () => {
    const r = backprop(['evaluate', model, '--json']);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.count).toBe(10000);
    expect(e.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10000);
    const predicted = predict(loadModel(model).net, test.batch(Int32Array.from({ length: 10000 }, (_, i) => i)).X);
    expect(e.accuracy).toBe(predicted.filter((p, i) => p === test.labels[i]).length / 10000);
    // The text says the same numbers as the JSON.
    expect(backprop(['evaluate', model]).stdout).toContain(
      `on the test set (10000 images): accuracy ${(100 * e.accuracy).toFixed(2)}%, hinge loss ${e.loss.toFixed(4)}\n\nconfusion matrix`,
    );
  });
  it('refuses a file that is not a model', () => {
    const r = backprop(['evaluate', join(defaultMnistDir(), 't10k-labels-idx1-ubyte')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/t10k-labels-idx1-ubyte: not a valid model file: header length \d+ runs past the end of the file/);
  });
});

describe('backprop predict', () => {
  const net = () => loadModel(model).net;
  const pixels = (i: number) => test.images.subarray(i * 784, (i + 1) * 784);

  it('predicts every image of an IDX file, as the library does', () => {
    const r = backprop(['predict', model, join(defaultMnistDir(), 't10k-images-idx3-ubyte'), '--json']);
    const { predictions } = JSON.parse(r.stdout);
    expect(predictions).toHaveLength(10000);
    expect(predictions.slice(0, 50)).toEqual(Array.from(predict(net(), test.batch(Int32Array.from({ length: 50 }, (_, i) => i)).X)));
  });

  it('reads a digit from PGM (binary and plain) and PNG, inverting dark-on-light and resizing', () => {
    const i = 0;
    const want = predict(net(), test.batch([i]).X)[0];
    const p5 = join(dir, 'digit.pgm');
    writeFileSync(p5, Buffer.concat([Buffer.from('P5\n# a test digit\n28 28\n255\n'), Buffer.from(pixels(i))]));
    const p2 = join(dir, 'digit-plain.pgm');
    writeFileSync(p2, `P2\n28 28\n255\n${Array.from(pixels(i)).join(' ')}\n`);
    // The same digit drawn dark on white, at twice the size.
    const png = new PNG({ width: 56, height: 56 });
    for (let y = 0; y < 56; y++)
      for (let x = 0; x < 56; x++) {
        const v = 255 - pixels(i)[(y >> 1) * 28 + (x >> 1)];
        png.data.set([v, v, v, 255], 4 * (y * 56 + x));
      }
    const pngPath = join(dir, 'digit.png');
    writeFileSync(pngPath, PNG.sync.write(png));
    for (const path of [p5, p2]) {
      const r = backprop(['predict', model, path, '--json']);
      expect(JSON.parse(r.stdout)).toMatchObject({ prediction: want, inverted: false, resized: false });
    }
    const r = backprop(['predict', model, pngPath]);
    expect(r.stdout).toMatch(new RegExp(`digit.png: ${want} \\(resized to 28x28, inverted to light-on-dark\\)`));
  });

  it('ends quietly when its reader has gone (predict ... | head)', async () => {
    const r = await withClosedStdout(['predict', model, join(defaultMnistDir(), 't10k-images-idx3-ubyte')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(141);
  });

  it('says which image formats it reads', () => {
    const jpg = join(dir, 'digit.jpg');
    writeFileSync(jpg, Buffer.from([0xff, 0xd8, 0xff]));
    const r = backprop(['predict', model, jpg]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/digit.jpg: JPG is not read; convert the digit to PNG or PGM \(e.g. convert digit.jpg digit.png\)$/);
  });

  it('refuses a malformed image with one line', () => {
    const bad = join(dir, 'bad.pgm');
    writeFileSync(bad, 'P5\n28 28\n255\n' + 'x'.repeat(10));
    const r = backprop(['predict', model, bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/bad.pgm: truncated PGM: 28x28 needs 784 bytes of pixels, found 10$/);
  });

  it('refuses a PGM whose samples are above the maximum value its header declares (it was read as a pixel brighter than white)', () => {
    const above = join(dir, 'above.pgm'),
      plain = join(dir, 'above-plain.pgm');
    writeFileSync(above, Buffer.concat([Buffer.from('P5\n28 28\n100\n'), Buffer.alloc(30), Buffer.from([200]), Buffer.alloc(753)]));
    writeFileSync(plain, `P2\n2 2\n255\n0 0\n300 0\n`);
    for (const [file, message] of [
      [above, 'pixel 30 (row 1, column 2) is 200, outside 0-100'],
      [plain, 'pixel 2 (row 1, column 0) is 300, outside 0-255'],
    ]) {
      const r = backprop(['predict', model, file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`backprop: ${file}: ${message}, the range its header declares; the file is damaged (write it again)\n`);
    }
  });

  it('names an over-long path in words (it said ENAMETOOLONG)', () => {
    const long = join(dir, `${'x'.repeat(300)}.safetensors`);
    expect(backprop(['evaluate', long]).stderr).toBe(`backprop: ${long}: cannot read: file name too long (a path is at most 4096 bytes, a name 255)\n`);
  });

  it('refuses a huge image before allocating it, and one of no pixels or a maximum value of 0, naming the file', () => {
    // A 1x1 PNG whose header says 99999x99999 (its checksum made valid again).
    const png = PNG.sync.write(Object.assign(new PNG({ width: 1, height: 1 }), { data: Buffer.from([0, 0, 0, 255]) }));
    png.writeUInt32BE(99999, 16);
    png.writeUInt32BE(99999, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    const images: [string, string | Buffer, RegExp][] = [
      [
        'huge.pgm',
        'P5\n99999 99999\n255\n' + 'x'.repeat(100),
        /huge.pgm: the image is 99999x99999, too large \(more than 16777216 pixels\); scale it down to about 28x28$/,
      ],
      ['huge-plain.pgm', 'P2\n99999 99999\n255\n0 0 0\n', /huge-plain.pgm: the image is 99999x99999, too large/],
      ['huge.png', png, /huge.png: the image is 99999x99999, too large \(more than 16777216 pixels\); scale it down to about 28x28$/],
      ['empty.pgm', 'P5\n0 28\n255\n', /empty.pgm: the image is 0x28: it has no pixels$/],
      ['dark.pgm', 'P2\n1 1\n0\n0\n', /dark.pgm: PGM maximum value 0 is not in 1-65535$/],
    ];
    for (const [name, bytes, message] of images) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const r = backprop(['predict', model, path]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });
});

describe('backprop gradcheck', () => {
  it('compares hand-derived, tape and numeric gradients of every parameter on MNIST images', () => {
    const r = backprop(['gradcheck', '--layers', '784,20,10', '--batch', '4', '--full-limit', '300']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^784-20-10 tanh, hinge loss, batch of 4 MNIST images, seed 1: loss \d/);
    expect(r.stdout).toMatch(/layers.0.weight \[784,20\], 4 random directions v\^T J u: ok/);
    expect(r.stdout).toMatch(
      /layers.1.weight \[20,10\], every entry: ok\n.*\n.*\n  hand vs tape +\S+ +\S+ +\[\d+,\d+\] +ok\n  tape vs numeric .* ok\n  hand vs numeric .* ok/,
    );
    expect(r.stdout).toMatch(/all 4 parameters agree: hand-derived = tape = finite differences\n$/);
  });
  it('handles random inputs, every activation and loss, as JSON', () => {
    for (const [activation, loss] of [
      ['relu', 'ce'],
      ['elu', 'mse'],
      ['sigmoid', 'hinge'],
    ]) {
      const r = backprop(['gradcheck', '--random', '--layers', '6,5,4,3', '--activation', activation, '--loss', loss, '--json']);
      const json = JSON.parse(r.stdout);
      expect(r.code).toBe(0);
      expect(json.ok).toBe(true);
      expect(json.parameters).toHaveLength(6);
      for (const p of json.parameters) expect(p.handVsTape.maxRel).toBeLessThan(1e-9);
    }
  });
  it('checks ops of the graph package with --op', () => {
    const r = backprop(['gradcheck', '--op', 'all']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all \d+ op checks agree with central differences/);
    const bad = backprop(['gradcheck', '--op', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^backprop: --op nope: no such op; choose one of matmul, /);
  });
  it('checks second derivatives with --order 2: Hessian-vector products of the loss, and gradgradcheck of ops', () => {
    const r = backprop(['gradcheck', '--order', '2', '--layers', '784,20,10', '--batch', '4']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Hessian-vector products H v along one random direction v over all parameters/);
    expect(r.stdout).toMatch(/layers.0.weight \[784,20\] +\S+ +\S+ +\[\d+,\d+\] +-?\d\.\d+(e-\d+)? +-?\d\.\d+(e-\d+)? +ok/);
    expect(r.stdout).toMatch(/all 4 parameters agree: H v from the tape = finite differences of the gradient\n$/);
    const json = JSON.parse(
      backprop(['gradcheck', '--order', '2', '--random', '--layers', '6,5,4,3', '--activation', 'sigmoid', '--loss', 'ce', '--json']).stdout,
    );
    expect(json.ok).toBe(true);
    // sigmoid and cross-entropy are curved: the Hessian-vector products are not zero
    for (const p of json.parameters) expect(Math.abs(p.tape)).toBeGreaterThan(0);
    const ops = backprop(['gradcheck', '--op', 'all', '--order', '2']);
    expect(ops.code).toBe(0);
    expect(ops.stdout).toMatch(/all \d+ second-derivative checks .* agree with central differences/);
  });
  it('refuses a batch that is not a positive integer', () => {
    const r = backprop(['gradcheck', '--batch', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('backprop: --batch 0: expected a positive integer');
  });
  it('refuses layers that do not fit MNIST', () => {
    const r = backprop(['gradcheck', '--layers', '100,10']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('backprop: --layers 100,10: MNIST images have 784 pixels, so the first size must be 784 (or use --random)');
  });
});

describe('models and inputs that yield NaN are refused with one line, never a number', () => {
  const pgm = join(dir, 'nan-digit.pgm');
  const idx = join(defaultMnistDir(), 't10k-images-idx3-ubyte');
  beforeAll(() => writeFileSync(pgm, Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.from(test.images.subarray(0, 784))])));
  const refused = (args: string[], message: RegExp) => {
    const r = backprop(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  };

  it('a model with a NaN weight (evaluate printed a loss of 0, predict the digit -1)', () => {
    const { net, metadata } = loadModel(model);
    net.layers[1].b.array.data[3] = NaN;
    const bad = join(dir, 'nan.safetensors');
    saveModel(bad, net, { config: JSON.parse(metadata.config) });
    const message =
      /^backprop: .*nan.safetensors: layers.1.bias holds NaN at \[3\]; a model with non-finite weights cannot be used \(was it trained with too high a learning rate\?\)$/;
    refused(['evaluate', bad], message);
    refused(['predict', bad, pgm], message);
    refused(['predict', bad, idx], message);
  });

  it('a model whose finite weights overflow to NaN scores (infinite ReLU activations times weights of both signs)', () => {
    const net = MLP.init({ sizes: [784, 8, 10], activation: 'relu' }, Rng.seeded(1), { init: 'xavier' });
    net.layers[0].W.array.data.fill(1e38);
    const overflow = join(dir, 'overflow.safetensors');
    saveModel(overflow, net, { config: { loss: 'ce' } });
    refused(
      ['evaluate', overflow],
      /^backprop: .*overflow.safetensors: its scores on the test images are not finite \(its activations overflow\); this model cannot be evaluated$/,
    );
    refused(
      ['predict', overflow, pgm],
      /^backprop: .*nan-digit.pgm: the scores of .*overflow.safetensors for this image hold NaN \(its activations overflow\)$/,
    );
    refused(
      ['predict', overflow, idx],
      /^backprop: .*t10k-images-idx3-ubyte: the scores of .*overflow.safetensors for image 0 hold NaN \(its activations overflow\)$/,
    );
  });

  it('a model whose finite weights overflow to +Infinity scores (evaluate printed accuracy 9.80%, hinge loss NaN; predict 0 0 0 0 0)', () => {
    const net = MLP.init({ sizes: [784, 8, 10], activation: 'relu' }, Rng.seeded(1), { init: 'xavier' });
    net.layers[0].W.array.data.fill(1);
    net.layers[1].W.array.data.fill(1e38); // every score 8 x (sum of the pixels) x 1e38 = +Infinity in float32
    const infinite = join(dir, 'infinite.safetensors');
    saveModel(infinite, net);
    refused(
      ['evaluate', infinite],
      /^backprop: .*infinite.safetensors: its scores on the test images are not finite \(its activations overflow\); this model cannot be evaluated$/,
    );
    refused(['evaluate', infinite, '--json'], /^backprop: .*infinite.safetensors: its scores on the test images are not finite/);
    refused(
      ['predict', infinite, pgm],
      /^backprop: .*nan-digit.pgm: the scores of .*infinite.safetensors for this image hold Infinity \(its activations overflow\)$/,
    );
    refused(
      ['predict', infinite, idx],
      /^backprop: .*t10k-images-idx3-ubyte: the scores of .*infinite.safetensors for image 0 hold Infinity \(its activations overflow\)$/,
    );
  });

  it("a model file whose forward returns NaN or Infinity only in evaluation: train stops at the first epoch's evaluation naming the file (it ended 'done' with NaN%)", () => {
    const file = join(dir, 'eval-overflow.ts'),
      out = join(dir, 'eval-overflow');
    // Finite on the two images the start checks, in training always; infinite on the evaluation's batches.
    writeFileSync(
      file,
      "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'xavier' } }, forward: (t, p, X, ctx) => { const S = t.matmul(X, p.W); return ctx.training || X.shape[0] <= 2 ? S : t.div(t.abs(S), 0); } };\n",
    );
    const r = backprop(['train', '--model', file, '--subset', '600', '--epochs', '2', '--quiet', '--out', out]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^backprop: .*eval-overflow\.ts: forward returned the score (Infinity|NaN) for example \d+, class \d+, in evaluation \(ctx\.training false\); scores must be finite \(an overflow, a division by zero, weights grown too large\?\)\n$/,
    );
    expect(r.code).toBe(2);
  });
});

describe('a device, a pipe or a directory where a file is expected is refused in one line, unread (evaluate /dev/zero read until 8 GB)', () => {
  it('models, images, IDX files, configs, sweep files, model files and derivations', () => {
    const fifo = join(dir, 'fifo-digit.pgm');
    execFileSync('mkfifo', [fifo]);
    const data = join(dir, 'fifo-data');
    mkdirSync(data);
    execFileSync('mkfifo', [join(data, 't10k-images-idx3-ubyte')]);
    symlinkSync(join(defaultMnistDir(), 't10k-labels-idx1-ubyte'), join(data, 't10k-labels-idx1-ubyte'));
    const cases: [string[], string][] = [
      [['evaluate', '/dev/zero'], '/dev/zero: is a device, not a file; name a file'],
      [['predict', model, '/dev/zero'], '/dev/zero: is a device, not a file; name a file'],
      [['predict', model, fifo], `${fifo}: is a pipe, not a file; name a file`],
      [['evaluate', model, '--data', data], `${join(data, 't10k-images-idx3-ubyte')}: is a pipe, not a file; name a file`],
      [['evaluate', dir], `${dir}: is a directory, not a file; name a file`],
      [['train', '--config', '/dev/zero', '--out', join(dir, 'zero-config')], '/dev/zero: is a device, not a file; name a file'],
      [['train', '--model', fifo, '--out', join(dir, 'fifo-model')], `${fifo}: is a pipe, not a file; name a file`],
      [
        ['experiment', join(dir, 'sweep.json')],
        `${join(dir, 'sweep.json')}: no such file; a sweep file is JSON as described in docs/experiments.md (backprop experiment FILE.json)`,
      ],
      [['check', '/dev/zero'], '/dev/zero: is a device, not a file; name a file'],
    ];
    for (const [args, message] of cases) {
      const r = backprop(args, { timeout: 60_000 }); // before the fix, /dev/zero was read until Node gave up (8 GB) and a pipe blocked
      expect(r.stderr, args.join(' ')).toBe(`backprop: ${message}\n`);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});

describe('backprop evaluate checks the model against the data, and reads only the split it evaluates', () => {
  it('refuses a model with fewer outputs than the data has classes', () => {
    const three = join(dir, 'three.safetensors');
    saveModel(three, MLP.init({ sizes: [784, 8, 3], activation: 'tanh' }, Rng.seeded(1), { init: 'xavier' }));
    const r = backprop(['evaluate', three]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^backprop: .*three.safetensors: the model has 3 outputs but the images have 10 classes; evaluate a model whose last layer has at least 10 units$/,
    );
  });
  it('evaluates the test split of a directory that holds only the test files', () => {
    const only = join(dir, 'test-only');
    mkdirSync(only);
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) symlinkSync(join(defaultMnistDir(), f), join(only, f));
    const r = backprop(['evaluate', model, '--data', only, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ split: 'test', count: 10000 });
    const train = backprop(['evaluate', model, '--data', only, '--split', 'train']);
    expect(train.code).toBe(2);
    expect(train.stderr.trim()).toMatch(/test-only\/train-images-idx3-ubyte: no such file/);
  });
});
