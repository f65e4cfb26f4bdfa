/**
 * Dataset.batch: X holds each picked example's bytes b as b / 255 (or its values), in the order of
 * the indices. The gather skips words of four zero bytes when the rows allow it (a multiple of 4
 * bytes, the bytes at an offset of a multiple of 4), so it is compared with a plain loop on random
 * images with runs of zeros, rows of every length mod 4, bytes at every offset mod 4, repeated
 * indices and both dtypes (fast-check, seed printed on failure), and on MNIST itself.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Dataset, loadMnist } from '../src/index.ts';

/** X by a plain loop over every byte: the reference. */
function plainBatch(images: Uint8Array, f: number, indices: number[]): number[] {
  return indices.flatMap((i) => Array.from(images.subarray(i * f, (i + 1) * f), (b) => Math.fround(b / 255)));
}

describe('Dataset.batch', () => {
  it('refuses an index that is not an example of the set (out of range, negative, fractional, NaN), for bytes and for values', () => {
    const bytes = new Dataset(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), new Uint8Array(2), 2, 2),
      values = new Dataset(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]), new Uint8Array(2), 2, 2);
    for (const data of [bytes, values]) {
      expect(data.batch([1, 0]).X.toFlatArray()).toHaveLength(8);
      for (const bad of [2, -1, 0.5, Number.NaN]) {
        expect(() => data.batch([0, bad]), String(bad)).toThrow(`batch: index ${bad} (at 1) is not an example of this set: expected a whole number in [0, 2)`);
      }
    }
  });

  it('gives each picked image as bytes / 255 whatever the row length and byte offset (fast-check against a plain loop)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 1000 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.constantFrom('float32' as const, 'float64' as const),
        (rows, cols, count, offset, pattern, picks, dtype) => {
          const f = rows * cols;
          // the bytes at `offset` into their buffer, zeros in runs (each byte of the pattern repeated a few times)
          const buffer = new Uint8Array(offset + count * f);
          for (let i = 0; i < count * f; i++) buffer[offset + i] = pattern[Math.floor(i / 3) % pattern.length];
          const images = buffer.subarray(offset);
          const data = new Dataset(images, new Uint8Array(count), rows, cols);
          const indices = picks.map((p) => p % count);
          const { X, y } = data.batch(indices, dtype);
          expect(X.shape).toEqual([indices.length, f]);
          const want = plainBatch(images, f, indices);
          expect(X.toFlatArray().map((v) => (dtype === 'float32' ? v : Math.fround(v)))).toEqual(want);
          if (dtype === 'float64') expect(X.toFlatArray()).toEqual(want.map((_, j) => images[indices[Math.floor(j / f)] * f + (j % f)] / 255));
          expect(Array.from(y)).toEqual(indices.map(() => 0));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives MNIST batches of 128 as the plain loop does', () => {
    const { train } = loadMnist();
    const indices = Array.from({ length: 128 }, (_, i) => (i * 7919) % train.count);
    const { X, y } = train.batch(indices);
    expect(X.toFlatArray()).toEqual(plainBatch(train.images as Uint8Array, 784, indices));
    expect(Array.from(y)).toEqual(indices.map((i) => train.labels[i]));
  });
});
