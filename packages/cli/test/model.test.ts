import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { defaultMnistDir, loadMnist, loadModel, predict } from '@backprop/mlp';
import { backprop, withClosedStdout } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-model-'));
const model = join(dir, 'run', 'model.safetensors');
const { test } = loadMnist();
beforeAll(() => {
  const r = backprop(['train', '--layers', '784,32,10', '--init', 'xavier', '--subset', '3000', '--epochs', '1', '--quiet', '--out', join(dir, 'run')]);
  expect(r.code).toBe(0);
});
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
    expect(backprop(['evaluate', model]).stdout).toMatch(/on the test set \(10000 images\): accuracy \d+\.\d\d%, hinge loss \d\.\d{4}\n\nconfusion matrix/);
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
    for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) {
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
});

describe('backprop gradcheck', () => {
  it('compares hand-derived, tape and numeric gradients of every parameter on MNIST images', () => {
    const r = backprop(['gradcheck', '--layers', '784,20,10', '--batch', '4', '--full-limit', '300']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^784-20-10 tanh, hinge loss, batch of 4 MNIST images, seed 1: loss \d/);
    expect(r.stdout).toMatch(/layers.0.weight \[784,20\], 4 random directions v\^T J u: ok/);
    expect(r.stdout).toMatch(/layers.1.weight \[20,10\], every entry: ok\n.*\n.*\n  hand vs tape +\S+ +\S+ +\[\d+,\d+\] +ok\n  tape vs numeric .* ok\n  hand vs numeric .* ok/);
    expect(r.stdout).toMatch(/all 4 parameters agree: hand-derived = tape = finite differences\n$/);
  });
  it('handles random inputs, every activation and loss, as JSON', () => {
    for (const [activation, loss] of [['relu', 'ce'], ['elu', 'mse'], ['sigmoid', 'hinge']]) {
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
