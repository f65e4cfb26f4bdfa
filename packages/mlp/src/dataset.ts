/**
 * Data sets in memory, and MNIST's IDX format parsed from bytes: what a training run needs of its
 * data wherever the bytes come from (files in Node, mnist.ts; a page's fetch in a browser). No Node
 * built-in: a browser imports this module through `@backprop/mlp/core`.
 */
import ndarray from 'ndarray';
import { allocate, Tensor, type DType } from '@backprop/graph';

export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses the bytes of an IDX file of unsigned bytes (type 0x08, uncompressed), checking its magic
 * number and that its size matches its dimensions; `name` (a path or a URL) starts every error.
 * The data is a view of `bytes`, not a copy.
 */
export function parseIdx(bytes: Uint8Array, name: string): Idx {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: not an IDX file (its first bytes are not the magic number 00 00 08 NN)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(`${name}: IDX element type 0x${bytes[2].toString(16).padStart(2, '0')} is not unsigned bytes (0x08)`);
  }
  const ndims = bytes[3];
  const header = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < header) throw new Error(`${name}: truncated IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i)); // big-endian
  const size = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - header;
  if (found !== size) {
    const what = found < size ? 'truncated' : 'longer than its header says';
    throw new Error(`${name}: file is ${what}: header says ${dims.join('x')} = ${size} bytes of data, found ${found}`);
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, size) };
}

/**
 * One split of MNIST (or Fashion-MNIST) from its parsed images and labels, checking that they
 * agree: the images' and labels' names start the errors. The bytes are used as they are (no copy).
 */
export function idxDataset(images: Idx, labels: Idx, imagesName: string, labelsName: string): Dataset<Uint8Array, Uint8Array> {
  if (images.dims.length !== 3) throw new Error(`${imagesName}: expected 3 dimensions (count, rows, cols), found ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new Error(`${labelsName}: expected 1 dimension (count), found ${labels.dims.length}`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new Error(`${labelsName}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${imagesName}`);
  }
  // An empty set would train nothing and report 0/0 = NaN accuracy.
  if (images.dims[0] === 0) throw new Error(`${imagesName}: holds no images (its header says ${images.dims.join('x')}); a data set needs at least one`);
  if (images.dims[1] * images.dims[2] === 0) throw new Error(`${imagesName}: its images have ${images.dims[1]}x${images.dims[2]} pixels, none`);
  const bad = labels.data.findIndex((y) => y > 9);
  if (bad >= 0) throw new Error(`${labelsName}: label ${labels.data[bad]} at index ${bad} is not a digit class 0-9`);
  return new Dataset(images.data, labels.data, images.dims[1], images.dims[2]);
}

/** b / 255 for every byte b, in each dtype: a batch looks its pixels up. */
const SCALE64 = Float64Array.from({ length: 256 }, (_, b) => b / 255);
const SCALE32 = Float32Array.from(SCALE64);

/**
 * X[i] = the example at indices[i]: each byte b as b / 255 (looked up), or the value itself; generic
 * so each dtype gets its own loop. X arrives zeroed (`allocate`), so only non-zero bytes are
 * written, and where the bytes can be read four at a time (aligned, whole rows of words) a word of
 * zeros (most of an MNIST image: 81% of its pixels are 0) is passed over in one test: the batch's
 * conversion took 0.6x the time (bench/evaluation.ts's batches, docs/performance.md).
 */
function gatherFeatures<T extends Float32Array | Float64Array>(X: T, scale: T, images: Uint8Array | Float64Array, indices: ArrayLike<number>, f: number): void {
  if (!(images instanceof Uint8Array)) {
    for (let i = 0; i < indices.length; i++) X.set(images.subarray(indices[i] * f, (indices[i] + 1) * f), i * f);
    return;
  }
  const words = (images.byteOffset & 3) === 0 && f % 4 === 0 ? new Uint32Array(images.buffer, images.byteOffset, images.length >> 2) : null;
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * f,
      shift = i * f - src; // X's index minus the byte's
    if (words) {
      for (let q = src >> 2, end = (src + f) >> 2; q < end; q++) {
        if (words[q] === 0) continue;
        const b = 4 * q;
        X[b + shift] = scale[images[b]];
        X[b + shift + 1] = scale[images[b + 1]];
        X[b + shift + 2] = scale[images[b + 2]];
        X[b + shift + 3] = scale[images[b + 3]];
      }
    } else
      for (let b = src; b < src + f; b++) {
        const v = images[b];
        if (v !== 0) X[b + shift] = scale[v];
      }
  }
}

/** Regression targets: `shape` (one example's) values per example, in a row. */
export interface Targets {
  values: Float64Array;
  shape: number[];
}

/** What an array data set (arrays.ts) has beyond MNIST's images: the shape of one example, and targets for regression. */
export interface DatasetShape {
  /** One example's shape, [h, w], [c, h, w] or [d]; [rows, cols] by default. */
  shape?: number[];
  /** Regression: the targets (the labels are then empty and `classes` is 0). */
  targets?: Targets;
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Examples (row-major) with their integer labels (classification) or float targets (regression).
 * Features are bytes b taken as b / 255 (MNIST's pixels, and uint8 arrays), or values as they are.
 */
export class Dataset<I extends Uint8Array | Float64Array = Uint8Array | Float64Array, L extends Uint8Array | Int32Array = Uint8Array | Int32Array> {
  constructor(
    readonly images: I,
    readonly labels: L,
    readonly rows: number,
    readonly cols: number,
    readonly classes = 10,
    readonly more: DatasetShape = {},
  ) {}

  get count(): number {
    return this.more.targets ? this.more.targets.values.length / this.targetSize : this.labels.length;
  }
  get features(): number {
    return this.rows * this.cols;
  }
  /** One example's shape. */
  get shape(): number[] {
    return this.more.shape ?? [this.rows, this.cols];
  }
  /** Whether the examples have float targets (regression) rather than class labels. */
  get regression(): boolean {
    return this.more.targets !== undefined;
  }
  /** Values of each example's target: 0 for class labels. */
  get targetSize(): number {
    return this.more.targets ? product(this.more.targets.shape) : 0;
  }

  /** The first `n` examples (a view, no copy). */
  take(n: number): Dataset<I, L> {
    return this.slice(0, Math.min(n, this.count));
  }

  /** Examples `start` to `end` (exclusive): a view, no copy. */
  slice(start: number, end: number): Dataset<I, L> {
    const f = this.features,
      t = this.more.targets,
      k = this.targetSize;
    const targets = t && { values: t.values.subarray(start * k, end * k), shape: t.shape };
    const labels = (t ? this.labels : this.labels.subarray(start, end)) as L;
    return new Dataset(this.images.subarray(start * f, end * f) as I, labels, this.rows, this.cols, this.classes, { ...this.more, targets });
  }

  /**
   * The examples at `indices` as X [n, features] and their labels y, or for regression their
   * targets Y [n, targetSize] (y is then empty).
   */
  batch(indices: ArrayLike<number>, dtype: DType = 'float32'): { X: Tensor; y: Uint8Array | Int32Array; Y?: Tensor } {
    const f = this.features,
      n = indices.length;
    // an index outside the set would read a neighbour's bytes, or none (the gathers skip checks)
    for (let i = 0; i < n; i++) {
      const e = indices[i];
      if (!(Number.isInteger(e) && e >= 0 && e < this.count)) {
        throw new Error(`batch: index ${e} (at ${i}) is not an example of this set: expected a whole number in [0, ${this.count})`);
      }
    }
    const X = allocate(dtype, n * f);
    if (X instanceof Float32Array) gatherFeatures(X, SCALE32, this.images, indices, f);
    else gatherFeatures(X, SCALE64, this.images, indices, f);
    const t = this.more.targets;
    if (t) {
      const k = this.targetSize,
        Y = allocate(dtype, n * k);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) Y[i * k + j] = t.values[indices[i] * k + j];
      return { X: new Tensor(ndarray(X, [n, f])), y: new Int32Array(0), Y: new Tensor(ndarray(Y, [n, k])) };
    }
    const y = new (this.labels instanceof Uint8Array ? Uint8Array : Int32Array)(n);
    for (let i = 0; i < n; i++) y[i] = this.labels[indices[i]];
    return { X: new Tensor(ndarray(X, [n, f])), y };
  }
}
