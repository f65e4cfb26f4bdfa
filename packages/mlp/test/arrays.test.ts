import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isArrayData, loadArrays, loadData } from '../src/arrays.ts';
import { paperConfig, startState, type EpochStats, type TrainOptions } from '../src/train.ts';
import { train } from '../src/index.ts';
import { npy, npz } from './npy-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'arrays-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = join(import.meta.dirname, 'fixtures', 'npy');
const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

/** Writes an .npz data set from .npy files, the four arrays by default; `extra` replaces or adds arrays. */
function write(name: string, arrays: Record<string, Uint8Array>): string {
  const path = join(dir, name);
  writeFileSync(path, npz(arrays));
  return path;
}
const four = {
  x_train: npy(
    '<f4',
    [4, 1, 2, 3],
    range(24, (i) => i / 8),
  ),
  y_train: npy('<i8', [4], [0, 1, 2, 1]),
  x_test: npy(
    '<f4',
    [2, 1, 2, 3],
    range(12, (i) => -i),
  ),
  y_test: npy('|u1', [2], [2, 0]),
};

describe('array data sets (.npz, .npy)', () => {
  it("reads Keras' mnist.npz layout as written by NumPy: uint8 pixels as b / 255, labels as classes", () => {
    const { train, test } = loadData(join(fixtures, 'mnist_like.npz'));
    expect([train.count, test.count, train.features, train.shape, train.classes, train.regression]).toEqual([6, 3, 16, [4, 4], 3, false]);
    const { X, y } = train.batch([0, 5]);
    expect(X.shape).toEqual([2, 16]);
    expect(X.array.data[0]).toBe(Math.fround(95 / 255));
    expect(Array.from(y)).toEqual([0, 2]);
    // the same data saved as big-endian float32 / 255 and int64 labels, deflated: the same batches
    const other = loadData(join(fixtures, 'compressed.npz'));
    expect(Array.from(other.train.batch([0, 5]).X.array.data)).toEqual(Array.from(X.array.data));
    expect(Array.from(other.test.batch([0, 1, 2]).y)).toEqual(Array.from(test.batch([0, 1, 2]).y));
  });

  it('takes images [n, c, h, w] and float values as they are; float targets of any shape make a regression set', () => {
    const { train } = loadArrays(write('cls.npz', four));
    expect([train.shape, train.features, train.classes]).toEqual([[1, 2, 3], 6, 3]);
    expect(Array.from(train.batch([1], 'float64').X.array.data)).toEqual(range(6, (i) => (6 + i) / 8));
    const reg = loadArrays(
      write('reg.npz', {
        ...four,
        y_train: npy(
          '>f8',
          [4, 2],
          range(8, (i) => i / 2),
        ),
        y_test: npy('<f4', [2, 2], [1, 2, 3, 4]),
      }),
    );
    expect([reg.train.regression, reg.train.targetSize, reg.train.classes, reg.train.count]).toEqual([true, 2, 0, 4]);
    const b = reg.train.batch([3, 0], 'float64');
    expect([b.Y!.shape, Array.from(b.Y!.array.data), b.y.length]).toEqual([[2, 2], [3, 3.5, 0, 0.5], 0]);
    expect(Array.from(reg.test.slice(1, 2).batch([0]).Y!.array.data)).toEqual([3, 4]);
  });

  it('reads a directory of x_train.npy, y_train.npy, x_test.npy, y_test.npy', () => {
    const d = join(dir, 'npys');
    mkdirSync(d);
    for (const [name, bytes] of Object.entries(four)) writeFileSync(join(d, `${name}.npy`), bytes);
    expect([isArrayData(d), isArrayData(fixtures), isArrayData('x.npz')]).toEqual([true, false, true]);
    expect(loadData(d).test.count).toBe(2);
  });

  it('reads train.csv and test.csv: a label column makes classes, target columns make a regression set', () => {
    const csv = (name: string, train: string, test: string) => {
      const d = join(dir, name);
      mkdirSync(d);
      writeFileSync(join(d, 'train.csv'), train);
      writeFileSync(join(d, 'test.csv'), test);
      return d;
    };
    const cls = loadData(csv('csv-cls', 'a,label,b\n0.5,1,2\n-1,0,3e-1\r\n1,2,0\n', 'a,label,b\n1,1,1\n'));
    expect([cls.train.count, cls.train.features, cls.train.classes, cls.test.count]).toEqual([3, 2, 3, 1]);
    expect(Array.from(cls.train.batch([1], 'float64').X.array.data)).toEqual([-1, 0.3]);
    expect(Array.from(cls.train.batch([0, 1, 2]).y)).toEqual([1, 0, 2]);
    const reg = loadData(csv('csv-reg', 'x,target.0,target.1\n1,2,3\n4,5,6\n', 'x,target.0,target.1\n7,8,9\n'));
    expect([reg.train.regression, reg.train.targetSize, Array.from(reg.train.batch([1], 'float64').Y!.array.data)]).toEqual([true, 2, [5, 6]]);
    const bad = (name: string, train: string) => () => loadData(csv(name, train, 'x,label\n1,0\n'));
    expect(bad('csv-none', 'x,y\n1,2\n')).toThrow(
      /csv-none\/train\.csv: no column named label \(class labels\) or target \(regression targets\); its columns are x, y$/,
    );
    expect(bad('csv-cell', 'x,label\n1,0\nabc,1\n')).toThrow(/csv-cell\/train\.csv: line 3, column x: "abc" is not a finite number$/);
    expect(bad('csv-count', 'x,label\n1,0,5\n')).toThrow(/csv-count\/train\.csv: line 2 has 3 values, the header names 2 columns$/);
    expect(bad('csv-class', 'x,label\n1,0.5\n')).toThrow(
      /csv-class\/train\.csv: line 2, column label: 0\.5 is not a class \(0, 1, \.\.\.\); name the column target for regression$/,
    );
  });

  it('refuses bad data in one line naming the file and the array', () => {
    const bad = (name: string, arrays: Record<string, Uint8Array>) => () => loadArrays(write(name, { ...four, ...arrays }));
    expect(bad('len.npz', { y_train: npy('<i8', [3], [0, 1, 2]) })).toThrow(/len\.npz: y_train: 3 labels \(shape \(3\)\) for 4 examples in x_train$/);
    expect(
      bad('nan.npz', {
        x_test: npy(
          '<f4',
          [2, 1, 2, 3],
          range(12, (i) => (i === 7 ? NaN : i)),
        ),
      }),
    ).toThrow(/nan\.npz: x_test: value NaN at flat index 7 \(example 1\); features must be finite numbers$/);
    expect(bad('shape.npz', { x_test: npy('<f4', [2, 6], range(12)) })).toThrow(/shape\.npz: x_test: examples of shape \(6\), but x_train's are \(1, 2, 3\)$/);
    expect(bad('neg.npz', { y_train: npy('<i8', [4], [0, -1, 2, 1]) })).toThrow(/neg\.npz: y_train: label -1 at index 1 is not a class/);
    expect(bad('mixed.npz', { y_test: npy('<f4', [2], [0, 1]) })).toThrow(/mixed\.npz: y_test: dtype <f4, but y_train's is <i8; both are integer labels/);
    expect(bad('nant.npz', { y_train: npy('<f8', [4], [0, 1, NaN, 1]), y_test: npy('<f8', [2], [0, 1]) })).toThrow(
      /nant\.npz: y_train: target NaN at flat index 2/,
    );
    const { x_test: _, ...three } = four;
    expect(() => loadArrays(write('three.npz', three))).toThrow(/three\.npz: has no array x_test; an \.npz data set holds x_train, y_train, x_test, y_test/);
    expect(() => loadArrays(join(dir, 'none.npz'))).toThrow(/none\.npz: cannot read: no such file or directory$/);
  });

  it('evaluates array data in the evaluation thread to the same bits as in the training thread (float64 features, int32 labels in shared memory)', async () => {
    const data = loadArrays(
      write('thread.npz', {
        x_train: npy(
          '<f8',
          [40, 3],
          range(120, (i) => Math.sin(i)),
        ),
        y_train: npy(
          '<i4',
          [40],
          range(40, (i) => i % 3),
        ),
        x_test: npy(
          '<f8',
          [10, 3],
          range(30, (i) => Math.cos(i)),
        ),
        y_test: npy(
          '<i4',
          [10],
          range(10, (i) => i % 3),
        ),
      }),
    );
    const config = { ...paperConfig, layers: [3, 8, 3], init: 'xavier' as const, loss: 'ce' as const, lr: 0.1, epochs: 3 };
    const record = async (options: TrainOptions) => {
      const epochs: EpochStats[] = [];
      await train(config, data, startState(config), { onEpoch: (e) => void epochs.push({ ...e, seconds: 0 }) }, options);
      return epochs;
    };
    const here = await record({ threads: 1 }),
      there = await record({ threads: 2, evaluateInBackground: true });
    expect(there).toEqual(here);
    expect(here[2].test.accuracy).toBeGreaterThan(0);
  });
});
