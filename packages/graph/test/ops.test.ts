import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gradcheck, ops, Tape, tensor, type Tensor } from '../src/index.ts';
import { opCases, opOfCase } from '../src/opcases.ts';

const f64 = { dtype: 'float64' } as const;

describe('every op agrees with finite differences (fast-check over shapes and values)', () => {
  it('covers every built-in op', () => {
    const covered = new Set(Object.keys(opCases).map(opOfCase));
    expect(Object.keys(ops).filter((name) => !covered.has(name))).toEqual([]);
  });
  for (const [name, make] of Object.entries(opCases)) {
    it(name, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 2 ** 30 }), (m, n, seed) => {
          const { inputs, fn } = make(m, n, seed);
          const report = gradcheck(fn, inputs, { mode: 'full', atol: 1e-6, rtol: 1e-5 });
          if (!report.ok || report.inputs.some((r) => r.kinks > 0)) throw new Error(report.summary);
        }),
        { numRuns: 25 },
      );
    });
  }
});

/** Runs `fn` on a tape with leaves `inputs` and upstream gradient `grad`, returning the gradients. */
function grads(fn: (t: Tape, ...xs: Tensor[]) => Tensor, inputs: number[][][] | (number[] | number[][])[], grad: unknown) {
  const xs = inputs.map((v) => tensor(v as number[][], { ...f64, requiresGrad: true }));
  const t = new Tape();
  const out = fn(t, ...xs);
  return { out: out.toArray(), grads: t.gradients(out, xs, { grad: tensor(grad as number[], f64) }).map((g) => g.toArray()) };
}

describe('hand-computed cases with an upstream gradient other than 1', () => {
  it('matmul: dA = G Bᵀ, dB = Aᵀ G', () => {
    const {
      out,
      grads: [dA, dB],
    } = grads(
      (t, a, b) => t.matmul(a, b),
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      [
        [1, -1],
        [2, 0.5],
      ],
    );
    expect(out).toEqual([
      [19, 22],
      [43, 50],
    ]);
    expect(dA).toEqual([
      [5 - 6, 7 - 8],
      [10 + 3, 14 + 4],
    ]);
    expect(dB).toEqual([
      [1 + 6, -1 + 1.5],
      [2 + 8, -2 + 2],
    ]);
  });

  it('add with a bias: the bias gets the column sums of G', () => {
    const {
      out,
      grads: [dX, db],
    } = grads(
      (t, x, b) => t.add(x, b),
      [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [10, 20],
      ],
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    );
    expect(out).toEqual([
      [11, 22],
      [13, 24],
      [15, 26],
    ]);
    expect(dX).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(db).toEqual([9, 12]);
  });

  it('relu: 0 at and below 0, g above', () => {
    const {
      out,
      grads: [dx],
    } = grads((t, x) => t.relu(x), [[-1, 0, 2]], [3, 3, 3]);
    expect(out).toEqual([0, 0, 2]);
    expect(dx).toEqual([0, 0, 3]);
  });

  it('elu: g above 0, g (y + alpha) at and below 0', () => {
    const {
      out,
      grads: [dx],
    } = grads((t, x) => t.elu(x, 1), [[-1, 0, 2]], [2, 2, 2]);
    expect(out).toEqual([Math.expm1(-1), 0, 2]);
    expect(dx[0 as never]).toBeCloseTo(2 * Math.exp(-1), 15);
    expect((dx as number[]).slice(1)).toEqual([2, 2]);
  });

  it('sigmoid and tanh from their outputs', () => {
    const s = grads((t, x) => t.sigmoid(x), [[0]], [4]);
    expect(s.out).toEqual([0.5]);
    expect(s.grads[0]).toEqual([1]); // 4 * 0.5 * 0.5
    const h = grads((t, x) => t.tanh(x), [[0.5]], [2]);
    expect((h.grads[0] as number[])[0]).toBeCloseTo(2 * (1 - Math.tanh(0.5) ** 2), 15);
  });

  it('hinge loss: margins > 0 count, a margin of exactly 0 does not', () => {
    // Row 0, label 0: margins s1 - s0 + 1 = 1.5 (active), s2 - s0 + 1 = 0 (exactly at the kink: inactive).
    // Row 1, label 2: margins 3 - 1 + 1 = 3, 0 - 1 + 1 = 0 -> one active.
    const {
      out,
      grads: [dS],
    } = grads(
      (t, s) => t.hingeLoss(s, [0, 2]),
      [
        [
          [1, 1.5, 0],
          [3, 0, 1],
        ],
      ],
      2,
    );
    expect(out).toBe((1.5 + 3) / 2);
    expect(dS).toEqual([
      [-1, 1, 0],
      [1, 0, -1],
    ]); // (±1 / n) * upstream 2
  });

  it('cross-entropy: (softmax - onehot) / n times the upstream gradient', () => {
    const {
      out,
      grads: [dS],
    } = grads((t, s) => t.crossEntropy(s, [1]), [[[0, Math.log(3)]]], 0.5);
    expect(out).toBeCloseTo(-Math.log(0.75), 15);
    const [[a, b]] = dS as number[][];
    expect(a).toBeCloseTo(0.5 * 0.25, 15);
    expect(b).toBeCloseTo(0.5 * (0.75 - 1), 15);
  });

  it('softmax is stable for large scores', () => {
    const t = new Tape();
    const y = t.softmax(
      tensor(
        [
          [1000, 1000],
          [-1000, 0],
        ],
        f64,
      ),
    );
    expect(y.toArray()).toEqual([
      [0.5, 0.5],
      [0, 1],
    ]);
    expect(t.crossEntropy(tensor([[1000, 0]], f64), [1]).item()).toBe(1000);
  });

  it("squared error: the paper's l = (o - y)^2 and dl/do = 2 (o - y)", () => {
    const {
      out,
      grads: [dO, dY],
    } = grads((t, o, y) => t.squaredError(o, y), [0.79501 as never, 0.01 as never], 1);
    expect(out).toBeCloseTo(0.78501 ** 2, 15);
    expect(dO).toBeCloseTo(1.57002, 12);
    expect(dY).toBeCloseTo(-1.57002, 12);
  });

  it('max along an axis sends g to the first maximum', () => {
    const {
      out,
      grads: [dx],
    } = grads(
      (t, x) => t.max(x, 1),
      [
        [
          [1, 3, 3],
          [5, 0, 2],
        ],
      ],
      [10, 20],
    );
    expect(out).toEqual([3, 5]);
    expect(dx).toEqual([
      [0, 10, 0],
      [20, 0, 0],
    ]);
  });
});

describe('NaN in the scores propagates through every loss (never a loss of 0)', () => {
  // Row 0 holds a NaN where the hinge margin would otherwise be inactive (5 is far ahead of it),
  // or at the label; row 1 is finite. The loss is NaN, and backward refuses it.
  const rows = (v: number, at: number) => [[5, 0, 0].map((s, j) => (j === at ? v : s)), [0.2, 0.1, 0.3]];
  const losses = {
    hingeLoss: (t: Tape, s: Tensor) => t.hingeLoss(s, [0, 2]),
    crossEntropy: (t: Tape, s: Tensor) => t.crossEntropy(s, [0, 2]),
    squaredError: (t: Tape, s: Tensor) =>
      t.squaredError(
        s,
        tensor(
          [
            [1, 0, 0],
            [0, 0, 1],
          ],
          { dtype: s.dtype },
        ),
      ),
  };
  for (const [name, loss] of Object.entries(losses)) {
    for (const dtype of ['float64', 'float32'] as const) {
      const lossOf = (scores: number[][]) => {
        const t = new Tape();
        const out = loss(t, tensor(scores, { dtype, requiresGrad: true }));
        return { t, out };
      };
      it(`${name} (${dtype}): NaN at the label or beside it, and infinite scores`, () => {
        expect(lossOf(rows(0, 1)).out.item()).not.toBeNaN(); // the same rows without NaN
        for (const scores of [rows(NaN, 0), rows(NaN, 1)]) {
          const { t, out } = lossOf(scores);
          expect(out.item()).toBeNaN();
          expect(() => t.backward(out)).toThrow(/^backward: the output is NaN/);
        }
        // Infinite scores: NaN where a loss takes their difference (inf - inf), else infinite.
        expect(
          Number.isFinite(
            lossOf([
              [Infinity, Infinity, 0],
              [0.2, 0.1, 0.3],
            ]).out.item(),
          ),
        ).toBe(false);
      });
    }
  }
  it('squaredError: NaN in the target', () => {
    expect(new Tape().squaredError(tensor([1, 2], f64), tensor([NaN, 0], f64)).item()).toBeNaN();
  });
});
