import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng, Tape, tensor, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;
const leaf = (v: number[] | number[][] | number[][][]) => tensor(v, { ...f64, requiresGrad: true });

/** A random shape of rank 1 to 4 (sizes 1 to 4), values drawn from the seed. */
const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
const values = (shape: number[], seed: number) => Rng.seeded(seed).randn(shape, f64);

describe('shape ops: hand-computed cases with an upstream gradient other than 1', () => {
  it('concat joins along any axis and hands each input its stretch of g', () => {
    const a = leaf([
        [1, 2],
        [3, 4],
      ]),
      b = leaf([[5], [6]]);
    const t = new Tape();
    const y = t.concat([a, b, a], 1);
    expect(y.toArray()).toEqual([
      [1, 2, 5, 1, 2],
      [3, 4, 6, 3, 4],
    ]);
    const [da, db] = t.gradients(y, [a, b], {
      grad: tensor(
        [
          [1, 2, 3, 4, 5],
          [6, 7, 8, 9, 10],
        ],
        f64,
      ),
    });
    expect(da.toArray()).toEqual([
      [1 + 4, 2 + 5],
      [6 + 9, 7 + 10],
    ]); // a appears twice: both stretches
    expect(db.toArray()).toEqual([[3], [8]]);
    expect(t.concat([a, leaf([[7, 8]])], 0).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [7, 8],
    ]);
  });

  it('stack adds a new axis', () => {
    const a = leaf([1, 2, 3]),
      b = leaf([4, 5, 6]);
    const t = new Tape();
    const y = t.stack([a, b], 1);
    expect(y.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const [da, db] = t.gradients(y, [a, b], {
      grad: tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        f64,
      ),
    });
    expect(da.toArray()).toEqual([1, 3, 5]);
    expect(db.toArray()).toEqual([2, 4, 6]);
    expect(t.stack([a, b], -1).shape).toEqual([3, 2]);
  });

  it('narrow cuts a range out of an axis; its gradient is g padded with zeros', () => {
    const x = leaf([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    const t = new Tape();
    const y = t.narrow(x, 1, 1, 2);
    expect(y.toArray()).toEqual([
      [2, 3],
      [6, 7],
    ]);
    expect(
      t
        .gradients(y, [x], {
          grad: tensor(
            [
              [1, 2],
              [3, 4],
            ],
            f64,
          ),
        })[0]
        .toArray(),
    ).toEqual([
      [0, 1, 2, 0],
      [0, 3, 4, 0],
    ]);
    expect(t.narrow(x, 0, 1, 0).shape).toEqual([0, 4]);
  });

  it('pad surrounds x with a constant; its gradient is g without the border', () => {
    const x = leaf([
      [1, 2],
      [3, 4],
    ]);
    const t = new Tape();
    const y = t.pad(
      x,
      [
        [1, 0],
        [0, 2],
      ],
      -1,
    );
    expect(y.toArray()).toEqual([
      [-1, -1, -1, -1],
      [1, 2, -1, -1],
      [3, 4, -1, -1],
    ]);
    const g = tensor(
      [
        [9, 9, 9, 9],
        [1, 2, 9, 9],
        [3, 4, 9, 9],
      ],
      f64,
    );
    expect(t.gradients(y, [x], { grad: g })[0].toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('flatten merges the axes from one on (axis 1 by default)', () => {
    const x = leaf([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    const t = new Tape();
    expect(t.flatten(x).toArray()).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(t.flatten(x, 0).shape).toEqual([8]);
    expect(t.flatten(x, -1).shape).toEqual([2, 2, 2]);
    const y = t.flatten(x);
    expect(
      t
        .gradients(y, [x], {
          grad: tensor(
            [
              [1, 2, 3, 4],
              [5, 6, 7, 8],
            ],
            f64,
          ),
        })[0]
        .toArray(),
    ).toEqual(x.toArray());
  });
});

describe('shape ops: properties over random shapes', () => {
  it('concat of a tensor cut in pieces along an axis gives it back, and narrow gives each piece back', () => {
    fc.assert(
      fc.property(shapes, fc.nat(), fc.integer({ min: 1, max: 2 ** 30 }), (shape, axisSeed, seed) => {
        const axis = axisSeed % shape.length,
          x = values(shape, seed),
          t = new Tape();
        const cut = Math.floor(shape[axis] / 2);
        const pieces = [t.narrow(x, axis, 0, cut), t.narrow(x, axis, cut, shape[axis] - cut)];
        expect(t.concat(pieces, axis).toArray()).toEqual(x.toArray());
        expect(t.narrow(t.concat([x, x], axis), axis, shape[axis], shape[axis]).toArray()).toEqual(x.toArray());
      }),
    );
  });

  it('pad then narrow on every axis is the identity, and the border holds the value', () => {
    fc.assert(
      fc.property(shapes, fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 2 ** 30 }), (shape, w, seed) => {
        const x = values(shape, seed),
          t = new Tape(),
          widths = shape.map((_, d) => w[d]);
        const y = t.pad(x, widths, 7);
        expect(y.shape).toEqual(shape.map((s, d) => s + w[d][0] + w[d][1]));
        const back = widths.reduce((h, [before], d) => t.narrow(h, d, before, shape[d]), y);
        expect(back.toArray()).toEqual(x.toArray());
        const border = y.toFlatArray().filter((v) => v === 7).length;
        expect(border).toBe(y.size - x.size);
      }),
    );
  });

  it('stack along an axis is concat of the inputs with that axis inserted', () => {
    fc.assert(
      fc.property(shapes, fc.nat(), fc.integer({ min: 1, max: 2 ** 30 }), (shape, axisSeed, seed) => {
        const axis = axisSeed % (shape.length + 1),
          a = values(shape, seed),
          b = values(shape, seed + 1),
          t = new Tape();
        const one = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
        expect(t.stack([a, b], axis).toArray()).toEqual(t.concat([t.reshape(a, one), t.reshape(b, one)], axis).toArray());
      }),
    );
  });

  it('scatterAdd is the adjoint of gather: <gather(x, i), g> = <x, scatterAdd(g, i, rows)>', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (rows, n, d, seed) => {
          const rng = Rng.seeded(seed),
            index = Array.from({ length: n }, () => rng.int(rows));
          const x = rng.randn([rows, d], f64),
            g = rng.randn([n, d], f64),
            t = new Tape();
          const dot = (p: Tensor, q: Tensor) => t.sum(t.mul(p, q)).item();
          const lhs = dot(t.gather(x, index), g),
            rhs = dot(x, t.scatterAdd(g, index, rows));
          expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(lhs)));
        },
      ),
    );
  });
});

describe('indexing: hand-computed cases', () => {
  it('gather takes rows by index (an embedding); repeated rows add up in the gradient', () => {
    const E = leaf([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const t = new Tape();
    const y = t.gather(E, [2, 0, 2]);
    expect(y.toArray()).toEqual([
      [5, 6],
      [1, 2],
      [5, 6],
    ]);
    expect(
      t
        .gradients(y, [E], {
          grad: tensor(
            [
              [1, 2],
              [3, 4],
              [5, 6],
            ],
            f64,
          ),
        })[0]
        .toArray(),
    ).toEqual([
      [3, 4],
      [0, 0],
      [6, 8],
    ]);
    expect(
      t
        .gather(
          tensor(
            [
              [[1], [2]],
              [[3], [4]],
            ],
            f64,
          ),
          [1],
        )
        .toArray(),
    ).toEqual([[[3], [4]]]); // the rest of the shape is kept
  });

  it('scatterAdd adds rows at indices; its gradient is gathered', () => {
    const g = leaf([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const t = new Tape();
    const y = t.scatterAdd(g, [1, 3, 1], 4);
    expect(y.toArray()).toEqual([
      [0, 0],
      [6, 8],
      [0, 0],
      [3, 4],
    ]);
    expect(
      t
        .gradients(y, [g], {
          grad: tensor(
            [
              [1, 1],
              [2, 3],
              [0, 0],
              [4, 5],
            ],
            f64,
          ),
        })[0]
        .toArray(),
    ).toEqual([
      [2, 3],
      [4, 5],
      [2, 3],
    ]);
  });

  it('where chooses by a 0/1 mask, broadcasting like add; each side gets g where it was chosen', () => {
    const a = leaf([
        [1, 2],
        [3, 4],
      ]),
      b = tensor(10, { ...f64, requiresGrad: true });
    const t = new Tape();
    const y = t.where(tensor([[1], [0]], f64), a, b);
    expect(y.toArray()).toEqual([
      [1, 2],
      [10, 10],
    ]);
    const [da, db] = t.gradients(y, [a, b], {
      grad: tensor(
        [
          [1, 2],
          [3, 4],
        ],
        f64,
      ),
    });
    expect(da.toArray()).toEqual([
      [1, 2],
      [0, 0],
    ]);
    expect(db.item()).toBe(7);
    expect(t.where(tensor([0, 1], f64), 5, tensor([1, 2], f64)).toArray()).toEqual([1, 5]);
  });
});

describe('errors name the op, the shapes and what disagrees', () => {
  const t = new Tape();
  const x = tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    f64,
  );
  it('concat and stack', () => {
    expect(() => t.concat([x, tensor([[1, 2]], f64)], 0)).toThrow('concat: cannot join input 1 [1,2] to input 0 [2,3] along axis 0: axis 1 differs (2 != 3)');
    expect(() => t.concat([x, tensor([1, 2, 3], f64)], 0)).toThrow('concat: cannot join input 1 [3] to input 0 [2,3] along axis 0: 1 axes != 2');
    expect(() => t.concat([x, x], 2)).toThrow('concat: axis 2 is out of range for shape [2,3]');
    expect(() => t.concat([], 0)).toThrow('concat: expected a non-empty array of tensors, as t.concat([a, b], axis)');
    expect(() => t.concat([x, tensor([[1, 2, 3]])], 0)).toThrow("concat: cannot mix float64 and float32; convert one with .clone('float64')");
    expect(() => t.stack([x, tensor([[1, 2]], f64)])).toThrow('stack: input 1 has shape [1,2] but input 0 has [2,3]');
    expect(() => t.stack([x], 3)).toThrow('stack: axis 3 is out of range for stacking tensors of shape [2,3] (-3 to 2)');
  });
  it('narrow, pad and flatten', () => {
    expect(() => t.narrow(x, 1, 2, 2)).toThrow('narrow: start 2 and length 2 do not fit axis 1 of [2,3], which has 3 elements');
    expect(() => t.narrow(x, 1, -1, 1)).toThrow('narrow: start -1 and length 1 do not fit axis 1 of [2,3], which has 3 elements');
    expect(() => t.pad(x, [[1, 1]])).toThrow('pad: 1 pairs of widths for the 2 axes of [2,3]; give one [before, after] per axis');
    expect(() =>
      t.pad(x, [
        [1, 1],
        [0, -1],
      ]),
    ).toThrow('pad: the widths of axis 1 of [2,3] must be [before, after], whole numbers >= 0, got [0,-1]');
    expect(() => t.flatten(tensor([1, 2], f64))).toThrow('flatten: axis 1 is out of range for shape [2]');
  });
  it('gather, scatterAdd and where', () => {
    expect(() => t.gather(x, [0, 2])).toThrow('gather: index 2 at position 1 is not a row of [2,3] (0 to 1)');
    expect(() => t.gather(x, [0.5])).toThrow('gather: index 0.5 at position 0 is not a row of [2,3] (0 to 1)');
    expect(() => t.scatterAdd(x, [0], 3)).toThrow('scatterAdd: 1 indices for the 2 rows of [2,3]; give one index per row');
    expect(() => t.scatterAdd(x, [0, 3], 3)).toThrow('scatterAdd: index 3 at position 1 is not a row of the 3 rows of the output (0 to 2)');
    expect(() => t.where(tensor([1, 0.5, 0], f64), x, 0)).toThrow('where: the mask must hold only 0 and 1, got 0.5 at [1]');
    expect(() => t.where(tensor([1, 0], f64), x, 0)).toThrow("where: cannot broadcast the mask [2] with the values' shape [2,3]");
    expect(() => t.where(tensor([1, 0, 1], f64), x, tensor([1, 2], f64))).toThrow('where: cannot broadcast [2,3] with [2]: 3 != 2');
    expect(() => t.where(tensor([1, 0, 1], { ...f64, requiresGrad: true }), x, 0)).toThrow(
      'where: the mask [3] requires a gradient, but it only chooses; pass mask.detach()',
    );
  });
});
