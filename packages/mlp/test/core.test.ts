// @backprop/mlp/core: the package's browser entry. Bundled for the browser with nothing Node-only on
// its path, and its IDX parser gives the bytes Node's file reader gives.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../../test/chromium.ts';
import { idxDataset, parseIdx, parseLayers } from '../src/core.ts';
import { parseLayers as exampleLayers } from '../src/example/index.ts';
import { defaultMnistDir, loadSplit } from '../src/index.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('@backprop/mlp/core', () => {
  it('bundles for the browser (esbuild, no plugins) with no Node built-in, though the whole package needs them', async () => {
    const code = await bundle(`export * from '@backprop/mlp/core';`, here);
    // No import of a Node built-in (the kernel threads ask the runtime for worker_threads with
    // process.getBuiltinModule, which a browser lacks, and which no bundler resolves).
    expect(code).not.toMatch(/from ["']node:|require\(["']node:|import\(["']node:/);
    expect(code).toContain('function train(');
    await expect(bundle(`export * from '@backprop/mlp';`, here)).rejects.toThrow(/node:/);
  }, 60_000);

  it('parses --layers once, for train, gradcheck and example alike', () => {
    expect(exampleLayers).toBe(parseLayers);
    expect(parseLayers(' 784, 100 ,10')).toEqual([784, 100, 10]);
    for (const bad of ['784', '784,0,10', '784,1.5', '784,,10'])
      expect(() => parseLayers(bad)).toThrow(`--layers ${bad}: expected two or more positive integers separated by commas, e.g. 784,800,100,10`);
  });

  it("parses MNIST's test labels and images from bytes as loadSplit reads them from files", () => {
    const name = (f: string) => join(defaultMnistDir(), f);
    const images = parseIdx(readFileSync(name('t10k-images-idx3-ubyte')), 'images');
    const labels = parseIdx(readFileSync(name('t10k-labels-idx1-ubyte')), 'labels');
    expect(images.dims).toEqual([10000, 28, 28]);
    const set = idxDataset(images, labels, 'images', 'labels');
    const files = loadSplit(defaultMnistDir(), 't10k');
    expect(set.labels).toEqual(files.labels);
    expect(Buffer.from(set.images).equals(Buffer.from(files.images))).toBe(true);
    expect(Array.from(set.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('names the source of bytes that are not an IDX file, or disagree', () => {
    expect(() => parseIdx(new Uint8Array([0x3c, 0x68, 0x74, 0x6d]), 'https://x/t10k.gz')).toThrow(
      'https://x/t10k.gz: not an IDX file (its first bytes are not the magic number 00 00 08 NN)',
    );
    const images = parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7, 9]), 'i');
    const labels = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]), 'l');
    expect(() => idxDataset(images, labels, 'i', 'l')).toThrow('l: 3 labels for 2 images in i');
  });
});
