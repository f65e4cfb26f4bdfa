import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gradcheck, gradgradcheck, Rng, Tape, tensor, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;

/** A [..., m, k] by [..., k, n] product by plain loops over explicit indices: the oracle. */
function naiveBatched(a: Tensor, b: Tensor, batch: number[]): number[] {
  const [m, k] = a.shape.slice(-2),
    n = b.shape[b.rank - 1],
    out: number[] = [];
  const at = (x: Tensor, idx: number[], i: number, j: number) => {
    const lead = idx.slice(idx.length - (x.rank - 2)).map((v, d) => (x.shape[d] === 1 ? 0 : v));
    return x.get(...lead, i, j);
  };
  const count = batch.reduce((p, d) => p * d, 1);
  for (let c = 0; c < count; c++) {
    const idx: number[] = [];
    for (let d = batch.length - 1, r = c; d >= 0; d--) {
      idx.unshift(r % batch[d]);
      r = Math.floor(r / batch[d]);
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += at(a, idx, i, p) * at(b, idx, p, j);
        out.push(s);
      }
  }
  return out;
}

/** Leading axes for two operands that broadcast: each axis is shared, or 1 on one side, or absent on one side. */
const leading = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom('both', 'left1', 'right1')), { maxLength: 2 })
  .chain((axes) => fc.tuple(fc.constant(axes), fc.integer({ min: 0, max: axes.length }), fc.integer({ min: 0, max: axes.length })));

const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[i]))));

describe("batched matmul: leading axes broadcast as numpy's matmul", () => {
  it('agrees with plain loops, and passes gradcheck and gradgradcheck, on random shapes', () => {
    fc.assert(
      fc.property(
        leading,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 1e6 }),
        ([axes, dropA, dropB], m, k, n, seed) => {
          // drop leading axes from the front of one operand (numpy aligns from the right)
          const la = axes.map(([d, how]) => (how === 'left1' ? 1 : d)).slice(Math.min(dropA, axes.length));
          const lb = axes.map(([d, how]) => (how === 'right1' ? 1 : d)).slice(dropA > 0 ? 0 : Math.min(dropB, axes.length));
          const rng = Rng.seeded(seed);
          const a = rng.randn([...la, m, k], f64),
            b = rng.randn([...lb, k, n], f64);
          if (a.rank === 2 && b.rank === 2) return;
          const batch = axes.map(([d]) => d).slice(axes.length - Math.max(la.length, lb.length));
          const out = new Tape().matmul(a, b);
          expect(out.shape).toEqual([...batch.map((_, i) => Math.max(la[la.length - batch.length + i] ?? 1, lb[lb.length - batch.length + i] ?? 1)), m, n]);
          close(out.toFlatArray(), naiveBatched(a, b, out.shape.slice(0, -2)));
          const fn = (t: Tape, x: Tensor, y: Tensor) => t.matmul(x, y);
          for (const report of [gradcheck(fn, [a, b], { mode: 'full' }), gradgradcheck(fn, [a, b], { seed })]) expect(report.ok, report.summary).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('each product of a batch has the bits of the 2-D product (float32)', () => {
    const rng = Rng.seeded(5);
    const a = rng.randn([3, 20, 30]),
      b = rng.randn([30, 40]);
    const t = new Tape(),
      out = t.matmul(a, b);
    for (let i = 0; i < 3; i++) {
      const ai = tensor(Float32Array.from(a.toFlatArray().slice(i * 600, (i + 1) * 600)), { shape: [20, 30] });
      expect(Buffer.from(t.matmul(ai, b).bytes()).equals(Buffer.from(out.bytes().slice(i * 3200, (i + 1) * 3200)))).toBe(true);
    }
  });

  it('shape errors name both shapes and the disagreeing sizes in one line', () => {
    const t = new Tape(),
      rng = Rng.seeded(1);
    expect(() => t.matmul(rng.randn([2, 3, 4]), rng.randn([3, 4, 5]))).toThrow(
      /^matmul: cannot broadcast the leading axes of \[2,3,4\] and \[3,4,5\]: 2 != 3$/,
    );
    expect(() => t.matmul(rng.randn([5, 2, 3, 4]), rng.randn([7, 1, 4, 5]))).toThrow(
      /^matmul: cannot broadcast the leading axes of \[5,2,3,4\] and \[7,1,4,5\]: 5 != 7$/,
    );
    expect(() => t.matmul(rng.randn([2, 3, 4]), rng.randn([2, 5, 6]))).toThrow(/^matmul: cannot multiply \[2,3,4\] by \[2,5,6\]: 4 != 5$/);
    expect(() => t.matmul(rng.randn([4]), rng.randn([4, 2]))).toThrow(
      /^matmul: the left operand has shape \[4\], not \[\.\.\., rows, columns\]; reshape a vector to \[1, n\] or \[n, 1\]$/,
    );
  });
});

/** Specs with an oracle built from other ops, and the letters' lengths drawn per case. */
const specs: { spec: string; shapes: (d: number[]) => number[][]; oracle: (t: Tape, ...xs: Tensor[]) => Tensor }[] = [
  {
    spec: 'ij,jk->ik',
    shapes: ([i, j, k]) => [
      [i, j],
      [j, k],
    ],
    oracle: (t, a, b) => t.matmul(a, b),
  },
  {
    spec: 'bij,bjk->bik',
    shapes: ([b, i, j, k]) => [
      [b, i, j],
      [b, j, k],
    ],
    oracle: (t, a, b) => t.matmul(a, b),
  },
  {
    spec: 'bij,bkj->bik',
    shapes: ([b, i, j, k]) => [
      [b, i, j],
      [b, k, j],
    ],
    oracle: (t, a, b) => t.matmul(a, t.transpose(b, [0, 2, 1])),
  },
  { spec: 'ij->ji', shapes: ([i, j]) => [[i, j]], oracle: (t, a) => t.transpose(a) },
  { spec: 'ij->j', shapes: ([i, j]) => [[i, j]], oracle: (t, a) => t.sum(a, 0) },
  { spec: 'ij', shapes: ([i, j]) => [[i, j]], oracle: (t, a) => t.add(a, 0) },
  { spec: 'i,j->ij', shapes: ([i, j]) => [[i], [j]], oracle: (t, a, b) => t.mul(t.reshape(a, [a.size, 1]), b) },
  {
    spec: 'ij,ij->',
    shapes: ([i, j]) => [
      [i, j],
      [i, j],
    ],
    oracle: (t, a, b) => t.sum(t.mul(a, b)),
  },
  {
    spec: 'ii->',
    shapes: ([i]) => [[i, i]],
    oracle: (t, a) =>
      t.sum(
        t.mul(
          a,
          tensor(
            Array.from({ length: a.shape[0] }, (_, r) => Array.from({ length: a.shape[0] }, (_, c) => (r === c ? 1 : 0))),
            f64,
          ),
        ),
      ),
  },
  {
    spec: 'ii->i',
    shapes: ([i]) => [[i, i]],
    oracle: (t, a) =>
      t.sum(
        t.mul(
          a,
          tensor(
            Array.from({ length: a.shape[0] }, (_, r) => Array.from({ length: a.shape[0] }, (_, c) => (r === c ? 1 : 0))),
            f64,
          ),
        ),
        1,
      ),
  },
  {
    spec: 'ij,jk,kl->il',
    shapes: ([i, j, k, l]) => [
      [i, j],
      [j, k],
      [k, l],
    ],
    oracle: (t, a, b, c) => t.matmul(t.matmul(a, b), c),
  },
];

describe('einsum', () => {
  for (const { spec, shapes, oracle } of specs) {
    it(`'${spec}' agrees with the same product written in other ops, and passes gradcheck and gradgradcheck on random shapes`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 1e6 }), (dims, seed) => {
          const rng = Rng.seeded(seed);
          const xs = shapes(dims).map((s) => rng.randn(s, f64));
          const fn = (t: Tape, ...ys: Tensor[]) => t.einsum(spec, ...ys);
          const got = fn(new Tape(), ...xs),
            want = oracle(new Tape(), ...xs);
          expect(got.shape).toEqual(want.shape);
          close(got.toFlatArray(), want.toFlatArray());
          for (const report of [gradcheck(fn, xs, { mode: 'full' }), gradgradcheck(fn, xs, { seed })]) expect(report.ok, report.summary).toBe(true);
        }),
        { numRuns: 15 },
      );
    });
  }

  it('the same tensor twice gets both contributions: d/dA of sum(A ⊙ A) is 2A', () => {
    const A = tensor(
      [
        [1, -2],
        [3, 0.5],
      ],
      { ...f64, requiresGrad: true },
    );
    const t = new Tape();
    t.backward(t.einsum('ij,ij->', A, A));
    expect(A.grad!.toArray()).toEqual([
      [2, -4],
      [6, 1],
    ]);
  });

  it('a bad spec is one line naming it and what is wrong', () => {
    const t = new Tape(),
      a = tensor([
        [1, 2],
        [3, 4],
      ]),
      b = tensor([[1, 2, 3]]);
    const cases: [string, Tensor[], RegExp][] = [
      ['ij;jk->ik', [a, a], /^einsum: 'ij;jk->ik' has ';': write the operands' letters separated by ',', then optionally '->' and the output's letters$/],
      ['ij->i->j', [a], /^einsum: 'ij->i->j' has a second '->'/],
      ['b...,b...->b', [a, a], /^einsum: 'b\.\.\.,b\.\.\.->b' uses an ellipsis \(\.\.\.\), which is not supported: name every axis with a letter$/],
      ['ij,jk->ik', [a], /^einsum: 'ij,jk->ik' names 2 operands but 1 was given$/],
      ['ijk->i', [a], /^einsum: 'ijk->i' names 3 axes \('ijk'\) for operand 0, which has shape \[2,2\]$/],
      ['ij,jk->ik', [a, b], /^einsum: 'ij,jk->ik' gives 'j' length 2 in operand 0 but 1 in operand 1 \[1,3\]$/],
      ['ij->k', [a], /^einsum: 'ij->k' puts 'k' in the output, but no operand has it$/],
      ['ij->ii', [a], /^einsum: 'ij->ii' puts 'i' in the output twice$/],
      ['ij', [], /^einsum: 'ij' needs tensors after the subscripts, as t\.einsum\('ij,jk->ik', a, b\)$/],
    ];
    for (const [spec, xs, message] of cases) expect(() => t.einsum(spec, ...xs)).toThrow(message);
    expect(() => t.einsum('ij,jk', a, tensor([[1, 2]], f64))).toThrow(/^einsum: cannot mix float32 and float64/);
  });
});
