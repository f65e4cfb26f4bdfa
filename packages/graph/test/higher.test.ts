import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defineOp, grad, gradgradcheck, hessian, hvp, jacobian, jvp, kernels, opCases, Rng, Tape, tensor, vjp, wrap, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;
const close = (got: number[], want: number[], tol = 1e-10) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]))));
};

describe("gradgradcheck: every op's backward is differentiable again", () => {
  for (const name of Object.keys(opCases)) {
    it(name, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1e6 }), (m, n, seed) => {
          const { inputs, fn } = opCases[name](m, n, seed);
          const report = gradgradcheck(fn, inputs, { seed });
          expect(report.ok, report.summary).toBe(true);
        }),
        { numRuns: 8 },
      );
    });
  }
});

// Piecewise linear: the gradient is constant between kinks, so every second derivative is 0.
const piecewiseLinear = [
  'relu',
  'abs',
  'maximum',
  'minimum',
  'max, along axis 1',
  'max, axis 0 of a 3-D tensor',
  'hingeLoss',
  'pick',
  'transpose',
  'add, row-vector bias',
  'sub, column and row',
  'neg',
  'scale',
  'sum',
  'mean, along axis -1',
  'reshape',
  'broadcastTo',
  'sumToShape',
  'scatterPick',
  'flatten',
  'concat',
  'concat, axis 0 with an input used twice',
  'stack',
  'narrow',
  'pad',
  'gather',
  'scatterAdd',
  'where',
  'where, a column mask and a number',
  'dropout',
  'dropout, evaluation',
  'leakyRelu',

  'maxPool2d',
  'maxPool2d, overlapping windows and padding',
  'maxPool2dBackward',
  'maxPool2dPick',
  'avgPool2d',
  'avgPool2d, padding counted in the mean',
  'avgPool2d, padding not counted',
  'avgPool2dBackward',
];

describe('piecewise-linear ops have a zero second derivative away from kinks', () => {
  it.each(piecewiseLinear)('%s', (name) => {
    expect(opCases[name]).toBeDefined();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1e6 }), (m, n, seed) => {
        const { inputs, fn } = opCases[name](m, n, seed);
        const rng = Rng.seeded(seed);
        const xs = inputs.map((x) => tensor(Float64Array.from(x.toFlatArray()), { shape: x.shape, requiresGrad: true }));
        const t = new Tape();
        const out = fn(t, ...xs);
        const v = rng.randn(out.shape, f64);
        const gs = t.gradients(out, xs, { grad: v, createGraph: true });
        const s = gs.map((g, i) => t.sum(t.mul(g, rng.randn(xs[i].shape, f64)))).reduce((a, b) => t.add(a, b));
        for (const h of t.gradients(s, xs)) expect(h.toFlatArray().every((x) => x === 0)).toBe(true);
      }),
      { numRuns: 10 },
    );
  });
});

describe('closed forms', () => {
  it('grad(grad(f)) of f(x) = sum(x³) is 6x, and of sum(tanh x) is -2 tanh x (1 - tanh² x)', () => {
    const x = tensor([-1.5, -0.2, 0.3, 2], f64);
    const cube = grad(grad((t, x) => t.sum(t.pow(x, 3))));
    // the second derivative of a sum of x_i³ along the ones direction: the gradient of sum(3x²) = 6x
    const sumOfGrad = grad((t, x) => t.sum(grad((t, x) => t.sum(t.pow(x, 3)))(t, x)));
    close(
      sumOfGrad(new Tape(), x).toFlatArray(),
      x.toFlatArray().map((v) => 6 * v),
    );
    const tanh2 = grad((t, x) => t.sum(grad((t, x) => t.sum(t.tanh(x)))(t, x)));
    close(
      tanh2(new Tape(), x).toFlatArray(),
      x.toFlatArray().map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)),
    );
    // a scalar input: grad(grad(f)) itself
    expect(cube(new Tape(), tensor(2, f64)).item()).toBeCloseTo(12, 12);
    expect(() => grad((t, x) => t.tanh(x))(new Tape(), x)).toThrow(
      'grad: the function must return one value, got shape [4]; use vjp or jacobian for other outputs',
    );
  });

  it('the Hessian of the logistic-regression loss is Xᵀ diag(p(1 - p)) X / n, and hvp agrees with it', () => {
    const rng = Rng.seeded(5);
    const n = 6,
      d = 3;
    const X = rng.randn([n, d], f64),
      y = rng.tensor([n, 1], (r) => (r.uniform() < 0.5 ? 0 : 1), f64);
    const w = rng.randn([d, 1], f64);
    // mean binary cross-entropy of sigmoid(X w), written with the tape's ops
    const loss = (t: Tape, w: Tensor) => {
      const p = t.sigmoid(t.matmul(X, w));
      const ll = t.add(t.mul(y, t.log(p)), t.mul(t.sub(1, y), t.log(t.sub(1, p))));
      return t.neg(t.mean(ll));
    };
    const H = hessian(loss, w).toArray() as number[][];
    const Xs = X.toArray() as number[][],
      ws = w.toFlatArray();
    const p = Xs.map((row) => 1 / (1 + Math.exp(-row.reduce((a, x, j) => a + x * ws[j], 0))));
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        const want = Xs.reduce((s, row, i) => s + row[a] * p[i] * (1 - p[i]) * row[b], 0) / n;
        expect(H[a][b]).toBeCloseTo(want, 12);
      }
    }
    const v = rng.randn([d, 1], f64);
    const [Hv] = hvp(loss, [w], [v]);
    close(
      Hv.toFlatArray(),
      H.map((row) => row.reduce((s, h, j) => s + h * v.toFlatArray()[j], 0)),
      1e-12,
    );
  });

  it('the Jacobian of softmax is diag(p) - p pᵀ; jvp and vjp are its products with vectors', () => {
    const x = tensor([[0.3, -1.2, 2.0, 0.1]], f64);
    const softmax = (t: Tape, x: Tensor) => t.softmax(x);
    const J = jacobian(softmax, x).toArray() as number[][];
    const e = x.toFlatArray().map(Math.exp),
      z = e.reduce((a, b) => a + b),
      p = e.map((v) => v / z);
    J.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo((i === j ? p[i] : 0) - p[i] * p[j], 14)));
    const u = tensor([[1, -2, 0.5, 3]], f64);
    close(
      jvp(softmax, [x], [u]).tangent.toFlatArray(),
      J.map((row) => row.reduce((s, v, j) => s + v * u.toFlatArray()[j], 0)),
      1e-12,
    );
    close(
      vjp(softmax, [x], u).grads[0].toFlatArray(),
      [0, 1, 2, 3].map((j) => J.reduce((s, row, i) => s + u.toFlatArray()[i] * row[j], 0)),
      1e-12,
    );
  });

  it('jvp of the paper-sized MLP layer agrees with central differences', () => {
    const rng = Rng.seeded(9);
    const X = rng.randn([4, 6], f64),
      W = rng.randn([6, 5], f64),
      b = rng.randn([5], f64),
      V = rng.randn([6, 5], f64);
    const f = (t: Tape, W: Tensor) => t.tanh(t.add(t.matmul(X, W), b));
    const { tangent } = jvp(f, [W], [V]);
    const at = (s: number) => new Tape().noRecord(() => f(new Tape(), wrap(kernels.zip(W.array, V.array, W.shape, (w, v) => w + s * v)))).toFlatArray();
    const plus = at(1e-6),
      minus = at(-1e-6);
    close(
      tangent.toFlatArray(),
      plus.map((p, i) => (p - minus[i]) / 2e-6),
      1e-7,
    );
  });
});

describe('custom ops', () => {
  const softplusOps = defineOp('softplus', (x: Tensor) => {
    const y = wrap(kernels.map(x.array, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))));
    return { out: y, backward: (g, _needs, t) => [t.mul(g, t.sigmoid(x))] };
  });
  const softplusRaw = defineOp('softplusRaw', (x: Tensor) => {
    const y = wrap(kernels.map(x.array, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))));
    return { out: y, backward: (g) => [wrap(kernels.zip(g.array, x.array, x.shape, (gv, v) => gv / (1 + Math.exp(-v))))] };
  });
  const x = Rng.seeded(2).randn([3, 4], f64);

  it('a backward written with ops is differentiable again', () => {
    expect(gradgradcheck((t, x) => t.apply(softplusOps, x), [x]).ok).toBe(true);
  });

  it('a backward on raw arrays is differentiable once: a second derivative through it is an error naming the op', () => {
    const t = new Tape();
    const xin = tensor(Float64Array.from(x.toFlatArray()), { shape: [3, 4], requiresGrad: true });
    const [g] = t.gradients(t.sum(t.apply(softplusRaw, xin)), [xin], { createGraph: true });
    close(
      g.toFlatArray(),
      x.toFlatArray().map((v) => 1 / (1 + Math.exp(-v))),
    ); // the first derivative is right
    expect(() => t.gradients(t.sum(g), [xin])).toThrow(/^softplusRaw: its backward computes on raw arrays, so it can be differentiated only once/);
    expect(() => gradgradcheck((t, x) => t.apply(softplusRaw, x), [x])).toThrow(/softplusRaw: .* differentiated only once/);
  });
});

describe('createGraph', () => {
  it('off, backward records nothing; on, it records the backward pass', () => {
    const W = Rng.seeded(4).randn([3, 2], { requiresGrad: true });
    const t = new Tape();
    const loss = t.sum(t.tanh(t.matmul(tensor([[1, 2, 3]]), W)));
    const n = t.records.length;
    t.backward(loss);
    expect(t.records.length).toBe(n);
    const plain = W.grad!.toFlatArray();
    t.backward(loss, { createGraph: true });
    expect(t.records.length).toBeGreaterThan(n);
    expect(W.grad!.toFlatArray()).toEqual(plain); // the same kernels, the same bits
    expect(W.grad!.requiresGrad).toBe(true);
  });
});
