// The sample images shipped for `backprop predict` (examples/digits/, written by scripts/digits.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir, loadSplit } from '@backprop/mlp';
import { digitSamples, digitsDir, encodeSample } from '../../../scripts/digits.ts';
import { readDigit } from '../src/images.ts';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-digits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const test = loadSplit(defaultMnistDir(), 't10k');
/** MNIST test image `index`, its pixels 0-255. */
const mnist = (index: number) => Array.from(test.images.subarray(index * 784, (index + 1) * 784));
/** What predict reads from an image, as 0-255. */
const read = (path: string) => {
  const { pixels, inverted, resized } = readDigit(path);
  return { pixels: Array.from(pixels, (p) => Math.round(255 * p)), inverted, resized };
};

describe('the sample digits for predict (examples/digits)', () => {
  it('ship a PNG, a PGM and a dark-on-light image', () => {
    expect(digitSamples.map((s) => [s.file, s.inverted])).toEqual([
      ['seven.png', false],
      ['two.pgm', false],
      ['four-dark-on-light.png', true],
    ]);
    for (const s of digitSamples) expect(existsSync(join(digitsDir, s.file)), s.file).toBe(true);
  });

  it('are read by predict as the MNIST test images they were made from, and are what scripts/digits.ts writes', () => {
    for (const s of digitSamples) {
      const shipped = read(join(digitsDir, s.file));
      expect(shipped.pixels, s.file).toEqual(mnist(s.index));
      expect([shipped.inverted, shipped.resized]).toEqual([s.inverted, s.scale !== 1]);
      // Made again (compared as images: another zlib may compress the same pixels into other bytes).
      const again = join(dir, s.file);
      writeFileSync(again, encodeSample(s));
      expect(read(again)).toEqual(shipped);
    }
  });

  it('are predicted as their digits by a quickly trained network (the README shows it)', () => {
    const out = join(dir, 'quick');
    const train = backprop(['train', '--layers', '784,100,10', '--subset', '6000', '--epochs', '2', '--quiet', '--out', out]);
    expect(train.code).toBe(0);
    for (const s of digitSamples) {
      const r = backprop(['predict', join(out, 'model.safetensors'), join(digitsDir, s.file)]);
      expect(r.code).toBe(0);
      const notes = [s.scale !== 1 && 'resized to 28x28', s.inverted && 'inverted to light-on-dark'].filter(Boolean).join(', ');
      expect(r.stdout.split('\n')[0]).toBe(`${join(digitsDir, s.file)}: ${s.label}${notes ? ` (${notes})` : ''}`);
    }
  });
});
