import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { full, gradcheck, Rng, Tape, tensor, updateRunningStats, zeros, type BatchStats, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;
const close = (got: number[], want: number[], tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `at ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]))));
};
const dims = fc.integer({ min: 1, max: 4 });
const seeds = fc.integer({ min: 1, max: 2 ** 30 });

/** Per-group mean and biased variance of flat values, groups chosen by `group(i)`. */
function moments(v: number[], groups: number, group: (i: number) => number) {
  const sum = new Array(groups).fill(0),
    sq = new Array(groups).fill(0),
    n = new Array(groups).fill(0);
  v.forEach((x, i) => {
    sum[group(i)] += x;
    n[group(i)]++;
  });
  const mean = sum.map((s, g) => s / n[g]);
  v.forEach((x, i) => {
    sq[group(i)] += (x - mean[group(i)]) ** 2;
  });
  return { mean, var: sq.map((s, g) => s / n[g]), n: n[0] };
}

describe('dropout', () => {
  const x = full([100, 100], 2, f64);

  it('zeroes about p of the elements, scales the rest by 1/(1 - p), and its gradient is the same mask', () => {
    const t = new Tape(),
      xin = full([100, 100], 2, { ...f64, requiresGrad: true });
    const y = t.dropout(xin, 0.3, Rng.seeded(1), true);
    const v = y.toFlatArray(),
      zeros = v.filter((e) => e === 0).length;
    expect(v.every((e) => e === 0 || e === 2 / 0.7)).toBe(true);
    expect(Math.abs(zeros / v.length - 0.3)).toBeLessThan(0.02); // 4 standard deviations of a binomial
    const [dx] = t.gradients(t.sum(y), [xin]);
    expect(dx.toFlatArray()).toEqual(v.map((e) => e / 2));
  });

  it('is seeded: the same generator state gives the same bits, and the generator moves on', () => {
    const t = new Tape(),
      rng = Rng.seeded(7);
    const a = t.dropout(x, 0.5, Rng.seeded(7), true).bytes(),
      b = t.dropout(x, 0.5, rng, true).bytes();
    expect(b).toEqual(a);
    expect(t.dropout(x, 0.5, rng, true).bytes()).not.toEqual(a);
    expect(t.dropout(tensor([[1, 2, 3]]), 0.5, Rng.seeded(7), true).dtype).toBe('float32');
  });

  it('is the identity outside training (no generator needed) and at p = 0', () => {
    const t = new Tape(),
      xin = tensor([1, -2, 3], { ...f64, requiresGrad: true });
    const y = t.dropout(xin, 0.9, null, false);
    expect(y.toArray()).toEqual([1, -2, 3]);
    expect(t.gradients(y, [xin], { grad: tensor([4, 5, 6], f64) })[0].toArray()).toEqual([4, 5, 6]);
    expect(t.dropout(xin, 0, null, true).toArray()).toEqual([1, -2, 3]);
  });

  it('errors', () => {
    const t = new Tape();
    expect(() => t.dropout(x, 1, Rng.seeded(1), true)).toThrow('dropout: p must be in [0, 1), got 1');
    expect(() => t.dropout(x, -0.1, Rng.seeded(1), true)).toThrow('dropout: p must be in [0, 1), got -0.1');
    expect(() => t.dropout(x, 0.5, null, true)).toThrow("dropout: training needs the run's Rng to draw the mask, got none");
  });
});

/** layerNorm written with the tape's primitive ops: an oracle computed by separate code. */
function layerNormByOps(t: Tape, x: Tensor, gain: Tensor, bias: Tensor, eps: number): Tensor {
  const d = x.shape[x.rank - 1],
    keep = [...x.shape.slice(0, -1), 1];
  const mean = t.reshape(t.mean(x, -1), keep);
  const centred = t.sub(x, mean);
  const variance = t.reshape(t.scale(t.sum(t.square(centred), -1), 1 / d), keep);
  return t.add(t.mul(t.div(centred, t.sqrt(t.add(variance, eps))), gain), bias);
}

describe('layerNorm', () => {
  it('normalises each row over the last axis, then scales and shifts it', () => {
    const t = new Tape();
    const y = t.layerNorm(
      tensor(
        [
          [1, 2, 3],
          [10, 10, 40],
        ],
        f64,
      ),
      tensor([1, 2, 3], f64),
      tensor([0, 0, 1], f64),
      1e-12,
    );
    const s = Math.sqrt(1.5); // row 0: mean 2, var 2/3: x̂ = (x - 2) / sqrt(2/3)
    close(y.toFlatArray(), [-s, 0, 1 + 3 * s, -Math.SQRT1_2, -2 * Math.SQRT1_2, 1 + 3 * Math.SQRT2], 1e-11);
  });

  it('agrees with the same function written with primitive ops, values and gradients (random shapes)', () => {
    fc.assert(
      fc.property(dims, dims, fc.integer({ min: 2, max: 5 }), seeds, (a, b, d, seed) => {
        const rng = Rng.seeded(seed);
        const [x, gain, bias] = [rng.randn([a, b, d], f64), rng.randn([d], f64), rng.randn([d], f64)].map((v) =>
          tensor(Float64Array.from(v.toFlatArray()), { shape: v.shape, requiresGrad: true }),
        );
        const up = rng.randn([a, b, d], f64);
        const t = new Tape();
        const fused = t.layerNorm(x, gain, bias, 1e-5),
          byOps = layerNormByOps(t, x, gain, bias, 1e-5);
        close(fused.toFlatArray(), byOps.toFlatArray());
        const g1 = t.gradients(fused, [x, gain, bias], { grad: up }),
          g2 = t.gradients(byOps, [x, gain, bias], { grad: up });
        g1.forEach((g, i) => close(g.toFlatArray(), g2[i].toFlatArray(), 1e-10));
      }),
      { numRuns: 30 },
    );
  });

  it('runs in float32 within float32 rounding of float64', () => {
    const x = Rng.seeded(3).randn([4, 6], f64),
      t = new Tape();
    close(t.layerNorm(x.clone('float32')).toFlatArray(), t.layerNorm(x).toFlatArray(), 1e-5);
  });

  it('errors', () => {
    const t = new Tape(),
      x = tensor([[1, 2, 3]], f64);
    expect(() => t.layerNorm(x, tensor([1, 2], f64))).toThrow('layerNorm: the gain has shape [2] but x [1,3] needs [3], one per element of the last axis');
    expect(() => t.layerNorm(x, null, tensor([[1, 2, 3]], f64))).toThrow(
      'layerNorm: the bias has shape [1,3] but x [1,3] needs [3], one per element of the last axis',
    );
    expect(() => t.layerNorm(x, tensor([1, 2, 3]))).toThrow("layerNorm: cannot mix float64 and float32; convert one with .clone('float64')");
    expect(() => t.layerNorm(x, null, null, 0)).toThrow('layerNorm: eps must be > 0, got 0');
    expect(() => t.layerNorm(tensor(1, f64))).toThrow('layerNorm: x must have at least one axis, got shape []');
  });
});

/** batchNorm in training written with primitive ops, for x [N, C, L]: the oracle. */
function batchNormByOps(t: Tape, x: Tensor, gain: Tensor, bias: Tensor, eps: number): Tensor {
  const [N, C, L] = x.shape,
    per = [1, C, 1],
    n = N * L;
  const mean = t.scale(t.sumToShape(x, per), 1 / n);
  const centred = t.sub(x, mean);
  const variance = t.scale(t.sumToShape(t.square(centred), per), 1 / n);
  return t.add(t.mul(t.div(centred, t.sqrt(t.add(variance, eps))), t.reshape(gain, [C, 1])), t.reshape(bias, [C, 1]));
}

describe('standardize', () => {
  it("normalises over the axes where the statistics' shape has 1, each run of kept axes a group", () => {
    const x = Rng.seeded(5).randn([3, 2, 4], f64),
      t = new Tape();
    // statistics per [i, j] over the last axis, and per channel j over axes 0 and 2
    for (const [statShape, group] of [
      [[3, 2, 1], (i: number) => Math.floor(i / 4)],
      [[1, 2, 1], (i: number) => Math.floor(i / 4) % 2],
    ] as const) {
      const groups = statShape[0] * statShape[1];
      const { mean, var: v } = moments(x.toFlatArray(), groups, group);
      const want = x.toFlatArray().map((e, i) => (e - mean[group(i)]) / Math.sqrt(v[group(i)] + 1e-5));
      close(t.standardize(x, [...statShape]).toFlatArray(), want);
    }
  });

  it('errors', () => {
    const t = new Tape(),
      x = tensor(
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
        f64,
      );
    expect(() => t.standardize(x, [2, 1, 2])).toThrow(
      "standardize: statistics of shape [2,1,2] do not fit x [2,2,2]: give x's size on a run of consecutive axes to keep, 1 on the others",
    );
    expect(() => t.standardize(x, [2, 1])).toThrow('standardize: statistics of shape [2,1] do not fit x [2,2,2]');
    expect(() => t.standardizeBackward(tensor([1, 2], f64), tensor([1, 2, 3], f64), [1])).toThrow('standardizeBackward: u [2] and x [3] differ in shape');
  });
});

describe('batchNorm', () => {
  it('in training normalises each channel by its batch statistics and reports them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), dims, dims, dims, seeds, (N, C, H, W, seed) => {
        const x = Rng.seeded(seed).randn([N, C, H, W], f64),
          stats: BatchStats = {},
          t = new Tape();
        const y = t.batchNorm(x, null, null, { training: true, stats, eps: 1e-12 });
        const per = (i: number) => Math.floor(i / (H * W)) % C;
        const want = moments(x.toFlatArray(), C, per),
          got = moments(y.toFlatArray(), C, per);
        close(stats.mean!.toFlatArray(), want.mean);
        close(stats.var!.toFlatArray(), want.var);
        expect(stats.count).toBe(N * H * W);
        close(got.mean, new Array(C).fill(0), 1e-12);
        close(
          got.var,
          want.var.map((v) => v / (v + 1e-12)),
          1e-9,
        ); // 1, but for eps
      }),
      { numRuns: 30 },
    );
  });

  it('in training agrees with the same function written with primitive ops, values and gradients', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), dims, dims, seeds, (N, C, L, seed) => {
        const rng = Rng.seeded(seed);
        const [x, gain, bias] = [rng.randn([N, C, L], f64), rng.randn([C], f64), rng.randn([C], f64)].map((v) =>
          tensor(Float64Array.from(v.toFlatArray()), { shape: v.shape, requiresGrad: true }),
        );
        const up = rng.randn([N, C, L], f64),
          t = new Tape();
        const fused = t.batchNorm(x, gain, bias, { training: true }),
          byOps = batchNormByOps(t, x, gain, bias, 1e-5);
        close(fused.toFlatArray(), byOps.toFlatArray());
        const g1 = t.gradients(fused, [x, gain, bias], { grad: up }),
          g2 = t.gradients(byOps, [x, gain, bias], { grad: up });
        g1.forEach((g, i) => close(g.toFlatArray(), g2[i].toFlatArray(), 1e-10));
      }),
      { numRuns: 30 },
    );
  });

  it('in evaluation normalises by the running statistics, and updateRunningStats blends the batch in (unbiased variance)', () => {
    const running = { mean: zeros([2], f64), var: full([2], 1, f64) };
    const x = tensor(
        [
          [1, 10],
          [3, 20],
          [5, 60],
        ],
        f64,
      ),
      t = new Tape(),
      stats: BatchStats = {};
    t.batchNorm(x, null, null, { training: true, stats });
    close(stats.mean!.toFlatArray(), [3, 30]);
    close(stats.var!.toFlatArray(), [8 / 3, 1400 / 3]);
    expect(running.mean.toFlatArray()).toEqual([0, 0]); // the op changes no state
    updateRunningStats(running, stats, 0.1);
    close(running.mean.toFlatArray(), [0.3, 3]);
    close(running.var.toFlatArray(), [0.9 + 0.1 * 4, 0.9 + 0.1 * 700]); // unbiased: 8/2, 1400/2
    const gain = tensor([2, 1], f64),
      bias = tensor([0, -1], f64);
    const y = t.batchNorm(x, gain, bias, { training: false, running, eps: 1e-5 });
    const want = x.toFlatArray().map((v, i) => ((v - [0.3, 3][i % 2]) / Math.sqrt([1.3, 70.9][i % 2] + 1e-5)) * [2, 1][i % 2] + [0, -1][i % 2]);
    close(y.toFlatArray(), want);
  });

  it('in evaluation is checked by gradcheck without touching the running statistics', () => {
    const running = { mean: tensor([0.5, -1], f64), var: tensor([2, 0.5], f64) };
    const rng = Rng.seeded(11);
    const report = gradcheck(
      (t, x, g, b) => t.batchNorm(x, g, b, { training: false, running }),
      [rng.randn([3, 2, 2], f64), rng.randn([2], f64), rng.randn([2], f64)],
    );
    expect(report.ok, report.summary).toBe(true);
    expect(running.mean.toFlatArray()).toEqual([0.5, -1]);
  });

  it('runs in float32 within float32 rounding of float64', () => {
    const x = Rng.seeded(4).randn([5, 3, 2], f64),
      t = new Tape();
    close(t.batchNorm(x.clone('float32'), null, null, { training: true }).toFlatArray(), t.batchNorm(x, null, null, { training: true }).toFlatArray(), 1e-5);
  });

  it('errors', () => {
    const t = new Tape(),
      x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        f64,
      );
    expect(() => t.batchNorm(tensor([1, 2], f64), null, null, { training: true })).toThrow(
      'batchNorm: x must be [N, C, ...] with channels on axis 1, got shape [2]',
    );
    expect(() => t.batchNorm(x, tensor([1, 2], f64), null, { training: true })).toThrow(
      'batchNorm: the gain has shape [2] but x [2,3] needs [3], one per element of axis 1 (the channels)',
    );
    expect(() => t.batchNorm(tensor([[1, 2, 3]], f64), null, null, { training: true })).toThrow(
      'batchNorm: training needs more than one value per channel to estimate a variance, got x [1,3]',
    );
    const running = { mean: zeros([2], f64), var: full([3], 1, f64) };
    expect(() => t.batchNorm(x, null, null, { training: false, running })).toThrow(
      'batchNorm: the running mean has shape [2] but x [2,3] needs [3], one per element of axis 1 (the channels)',
    );
    expect(() => t.batchNorm(x, null, null, { training: false } as never)).toThrow(
      'batchNorm: evaluation needs the running statistics, { training: false, running: { mean, var } }',
    );
    expect(() => t.batchNorm(x, null, null, undefined as never)).toThrow(
      'batchNorm: the mode must be { training: true } or { training: false, running: { mean, var } }',
    );
    expect(() => updateRunningStats(running, {})).toThrow(
      "updateRunningStats: the batch statistics are empty; pass the same object as batchNorm's { training: true, stats }",
    );
    const stats: BatchStats = {};
    t.batchNorm(x, null, null, { training: true, stats });
    expect(() => updateRunningStats(running, stats)).toThrow("updateRunningStats: the running mean has shape [2] but the batch's has [3]");
  });
});
