import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNpy, parseNpz } from '../src/npy.ts';
import { npy as buildNpy } from './npy-writer.ts';

// Files written by NumPy 2 (fixtures/npy/make.py); the suite reads them, it never runs Python.
const dir = join(import.meta.dirname, 'fixtures', 'npy');
const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const npy = (name: string) => parseNpy(read(name), name);

describe('NumPy .npy files', () => {
  it('reads every number dtype NumPy writes, either byte order, as the values NumPy saved', () => {
    for (const name of ['le_f2', 'le_f4', 'be_f4', 'le_f8', 'be_f8', 'i1', 'le_i2', 'be_i4', 'le_i8', 'be_i8']) {
      const a = npy(`${name}.npy`);
      expect([name, a.shape, Array.from(a.data)]).toEqual([name, [2, 3], [-2, -1, 0, 1, 2, 3]]);
    }
    for (const name of ['u1', 'le_u2', 'be_u4', 'le_u8']) expect([name, Array.from(npy(`${name}.npy`).data)]).toEqual([name, [0, 1, 2, 3, 4, 5]]);
    expect(npy('u1.npy').data).toBeInstanceOf(Uint8Array);
    expect([npy('u1.npy').descr, npy('be_f4.npy').descr, npy('le_i8.npy').kind]).toEqual(['|u1', '>f4', 'i']);
    expect(Array.from(npy('b1.npy').data)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(npy('vector.npy').shape).toEqual([5]);
    expect(Array.from(npy('v2.npy').data)).toEqual([0, 1, 2]);
  });

  it('puts a Fortran-order array in C order', () => {
    const a = npy('fortran.npy');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 24 }, (_, i) => i)); // np.arange(24).reshape(2, 3, 4), as NumPy indexes it
  });

  it('refuses object arrays (pickles, never unpickled), structured dtypes, bad magic and truncation, naming the array', () => {
    expect(() => npy('object.npy')).toThrow(/^object\.npy: an object array \(dtype \|O\) is a Python pickle, which is never unpickled/);
    expect(() => npy('structured.npy')).toThrow(/^structured\.npy: a structured dtype/);
    expect(() => parseNpy(new TextEncoder().encode('x,y\n1,2\n'), 'a.npy')).toThrow(/^a\.npy: not a NumPy \.npy array/);
    const whole = read('le_f8.npy');
    expect(() => parseNpy(whole.subarray(0, whole.length - 1), 'cut.npy')).toThrow(
      /^cut\.npy: truncated: its shape \(2, 3\) of <f8 needs 48 bytes of data, the file has 47$/,
    );
    expect(() => parseNpy(whole.subarray(0, 20), 'cut.npy')).toThrow(/^cut\.npy: truncated in its header/);
    expect(() => parseNpy(buildNpy('<c16', [0], []), 'c.npy')).toThrow(/^c\.npy: dtype <c16 is not a number type/);
    expect(() => parseNpy(buildNpy('<i8', [1], [2 ** 60]), 'big.npy')).toThrow(/^big\.npy: value 1152921504606846976 at index 0 is beyond 2\^53/);
  });

  it('reads files built here: a 4-D float32 array, and Fortran order by hand', () => {
    const values = Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i / 4 - 1);
    const a = parseNpy(buildNpy('<f4', [2, 1, 2, 3], values), 'x');
    expect([a.shape, Array.from(a.data)]).toEqual([[2, 1, 2, 3], Array.from(values)]);
    // [[1, 2, 3], [4, 5, 6]] in Fortran order is 1 4 2 5 3 6
    const f = parseNpy(buildNpy('|i1', [2, 3], [1, 4, 2, 5, 3, 6], true), 'f');
    expect(Array.from(f.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('NumPy .npy files built here (property)', () => {
  it('reads back any shape of any dtype in either byte order, C or Fortran order', () => {
    const dtypes = ['<f4', '>f4', '<f8', '>f8', '|i1', '|u1', '<i2', '>i2', '<i4', '>i4', '<i8', '>i8'];
    const arbitrary = fc.record({
      descr: fc.constantFrom(...dtypes),
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fortran: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(arbitrary, ({ descr, shape, fortran, seed }) => {
        const n = shape.reduce((a, b) => a * b, 1);
        // values each dtype holds exactly: small integers, or halves for floats
        const signed = descr[1] !== 'u',
          float = descr[1] === 'f';
        const values = Array.from({ length: n }, (_, i) => ((seed + 7919 * i) % 200) - (signed ? 100 : 0)).map((v) => (float ? v / 2 : v));
        // Fortran order stores the element at (i0, ..., ik) at i0 + s0 (i1 + s1 (...)): the first axis fastest.
        const stored = new Array<number>(n);
        for (let c = 0; c < n; c++) {
          let rest = c,
            f = 0,
            stride = 1;
          const index = shape
            .map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1))
            .map((cStride) => {
              const i = Math.floor(rest / cStride);
              rest %= cStride;
              return i;
            });
          index.forEach((i, k) => ((f += i * stride), (stride *= shape[k])));
          stored[fortran ? f : c] = values[c];
        }
        const a = parseNpy(buildNpy(descr, shape, stored, fortran), 'p.npy');
        expect(a.shape).toEqual(shape);
        expect(Array.from(a.data)).toEqual(values);
      }),
    );
  });
});

describe('NumPy .npz archives', () => {
  it('reads np.savez (stored) and np.savez_compressed (deflated) archives', () => {
    const a = parseNpz(read('mnist_like.npz'), 'mnist_like.npz');
    expect([...a.keys()].sort()).toEqual(['x_test', 'x_train', 'y_test', 'y_train']);
    expect(a.get('x_train')!.shape).toEqual([6, 4, 4]);
    expect(Array.from(a.get('x_train')!.data.subarray(0, 4))).toEqual([95, 130, 194, 217]); // as NumPy prints x_train[0, 0]
    expect(Array.from(a.get('x_test')!.data.subarray(2 * 16 + 12, 3 * 16))).toEqual([217, 51, 157, 138]);
    const c = parseNpz(read('compressed.npz'), 'compressed.npz');
    expect(c.get('x_train')!.descr).toBe('>f4');
    expect(c.get('x_train')!.data[0]).toBe(Math.fround(95 / 255));
    expect(Array.from(c.get('y_test')!.data)).toEqual([2, 1, 0]);
  });

  it('reads only the arrays asked for, and names the archive and the array in errors', () => {
    expect([...parseNpz(read('mnist_like.npz'), 'm.npz', ['y_test']).keys()]).toEqual(['y_test']);
    const zip = zipSync({ 'x_train.npy': read('le_f4.npy'), 'y_train.npy': read('object.npy') });
    expect(() => parseNpz(zip, 'd.npz')).toThrow(/^d\.npz: y_train: an object array/);
    const whole = read('compressed.npz');
    expect(() => parseNpz(whole.subarray(0, whole.length - 30), 'cut.npz')).toThrow(/^cut\.npz: not a readable \.npz archive/);
    expect(() => parseNpz(read('le_f4.npy'), 'x.npz')).toThrow(/^x\.npz: not a NumPy \.npz archive/);
  });
});
