import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defaultMemory, kernels as k, Rng, Tape, tensor, tidy, type Tensor } from '../src/index.ts';
import { convGeometry, type Conv2dOptions } from '../src/ops/conv.ts';

const f64 = { dtype: 'float64' } as const;

/** A convolution's sizes and options, as fast-check draws them. */
interface Case {
  n: number;
  groups: number;
  cg: number;
  fg: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  chunk: number;
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 3 }),
    fg: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 11 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 3 }),
    dw: fc.integer({ min: 1, max: 3 }),
    chunk: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer(),
  })
  .filter((c) => c.dh * (c.kh - 1) + 1 <= c.h + 2 * c.ph && c.dw * (c.kw - 1) + 1 <= c.w + 2 * c.pw);

const optionsOf = (c: Case): Conv2dOptions => ({ stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw], groups: c.groups });
const shapesOf = (c: Case) => ({ x: [c.n, c.groups * c.cg, c.h, c.w], w: [c.groups * c.fg, c.cg, c.kh, c.kw] });

/**
 * The direct convolution, seven nested loops over plain arrays (no im2col, no matrix product):
 * y[n,f,oy,ox] = b[f] + Σ x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw] w[f, c - c0, i, j] over the
 * group's channels, and, from the same loops, dx and dw for an upstream gradient gy.
 */
function direct(c: Case, x: number[], w: number[], b: number[] | null, gy: number[] | null) {
  const C = c.groups * c.cg,
    F = c.groups * c.fg;
  const oh = Math.floor((c.h + 2 * c.ph - c.dh * (c.kh - 1) - 1) / c.sh) + 1,
    ow = Math.floor((c.w + 2 * c.pw - c.dw * (c.kw - 1) - 1) / c.sw) + 1;
  const y = new Array(c.n * F * oh * ow).fill(0),
    dx = new Array(x.length).fill(0),
    dw = new Array(w.length).fill(0);
  for (let n = 0; n < c.n; n++)
    for (let f = 0; f < F; f++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const o = ((n * F + f) * oh + oy) * ow + ox,
            q = Math.floor(f / c.fg);
          let s = b ? b[f] : 0;
          for (let cl = 0; cl < c.cg; cl++)
            for (let i = 0; i < c.kh; i++)
              for (let j = 0; j < c.kw; j++) {
                const iy = oy * c.sh - c.ph + i * c.dh,
                  ix = ox * c.sw - c.pw + j * c.dw;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const xi = ((n * C + q * c.cg + cl) * c.h + iy) * c.w + ix,
                  wi = ((f * c.cg + cl) * c.kh + i) * c.kw + j;
                s += x[xi] * w[wi];
                if (gy) {
                  dx[xi] += gy[o] * w[wi];
                  dw[wi] += gy[o] * x[xi];
                }
              }
          y[o] = s;
        }
  return { y, dx, dw, shape: [c.n, F, oh, ow] };
}

const draw = (rng: Rng, size: number) => Array.from({ length: size }, () => 2 * rng.uniform() - 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const arrayOf = (values: number[], shape: number[], dtype: 'float32' | 'float64') =>
  tensor(Float64Array.from(values), { shape, dtype: 'float64' }).clone(dtype).array;

/** |got - want| within atol + rtol |want|, element by element, with the first failure named. */
function expectClose(got: ArrayLike<number>, want: number[], atol: number, rtol: number, what: string) {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const same = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!same) expect.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

describe('conv2d kernels equal the direct nested-loop convolution (random shapes, strides, paddings, dilations, groups, chunks)', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    // float32 (the SIMD products when the sizes qualify) against the float64 loops: within float32 rounding.
    const [atol, rtol] = dtype === 'float64' ? [1e-12, 1e-12] : [2e-5, 2e-5];
    it(`${dtype}: forward with a bias, the input's gradient and the weights' gradient`, () => {
      fc.assert(
        fc.property(caseArb, (c) => {
          const rng = Rng.seeded(c.seed),
            shapes = shapesOf(c);
          const x = draw(rng, size(shapes.x)),
            w = draw(rng, size(shapes.w)),
            b = draw(rng, shapes.w[0]);
          const want = direct(c, x, w, b, null);
          const gy = draw(rng, size(want.shape));
          const { dx, dw } = direct(c, x, w, null, gy);
          const g = convGeometry('test', shapes.x, shapes.w, optionsOf(c));
          expect([g.n, g.f, g.oh, g.ow]).toEqual(want.shape);
          const X = arrayOf(x, shapes.x, dtype),
            W = arrayOf(w, shapes.w, dtype),
            G = arrayOf(gy, want.shape, dtype);
          expectClose(k.flat(k.conv2d(X, W, g, arrayOf(b, [b.length], dtype), c.chunk)), want.y, atol, rtol, 'y');
          expectClose(k.flat(k.conv2dBackwardInput(G, W, g, c.chunk)), dx, atol, rtol, 'dx');
          expectClose(k.flat(k.conv2dBackwardWeight(X, G, g, c.chunk)), dw, atol, rtol, 'dw');
          // the default chunking gives the same values
          expectClose(k.flat(k.conv2dBackwardWeight(X, G, g)), dw, atol, rtol, 'dw, one chunk');
        }),
      );
    });
  }

  it('float32 through the tape agrees with float64 on a LeNet-sized layer, forward and backward', () => {
    const rng = Rng.seeded(3);
    const x = rng.randn([8, 6, 14, 14], f64),
      w = rng.randn([16, 6, 5, 5], f64),
      b = rng.randn([16], f64),
      gy = rng.randn([8, 16, 10, 10], f64);
    const run = (dtype: 'float32' | 'float64') => {
      const [X, W, B] = [x, w, b].map((v) => tensor(Float64Array.from(v.toFlatArray()), { shape: v.shape, dtype: 'float64' }).clone(dtype)) as Tensor[];
      for (const v of [X, W, B]) v.requiresGrad = true;
      const t = new Tape();
      const y = t.conv2d(X, W, { padding: 0 }, B);
      return [y, ...t.gradients(y, [X, W, B], { grad: gy.clone(dtype) })].map((v) => v.toFlatArray());
    };
    const [lo, hi] = [run('float32'), run('float64')];
    // each output sums 150 products of N(0,1) values: float32 keeps about 1e-6 of their size
    lo.forEach((v, i) => expectClose(v, hi[i], 1e-3, 1e-4, ['y', 'dx', 'dw', 'db'][i]));
  });
});

/** Pooling by direct loops over each window, the padding explicit: max (the first maximum in row-major order; the first NaN wins) and mean. */
function directPool(
  p: { n: number; c: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number },
  x: number[],
  includePad: boolean,
) {
  const oh = Math.floor((p.h + 2 * p.ph - p.kh) / p.sh) + 1,
    ow = Math.floor((p.w + 2 * p.pw - p.kw) / p.sw) + 1;
  const max: number[] = [],
    at: number[] = [],
    mean: number[] = [],
    divisors: number[] = [];
  for (let plane = 0; plane < p.n * p.c; plane++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity,
          where = -1,
          sum = 0,
          count = 0;
        for (let i = 0; i < p.kh; i++)
          for (let j = 0; j < p.kw; j++) {
            const iy = oy * p.sh - p.ph + i,
              ix = ox * p.sw - p.pw + j;
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) {
              if (includePad) count++;
              continue;
            }
            const index = (plane * p.h + iy) * p.w + ix;
            if (x[index] > best || (Number.isNaN(x[index]) && !Number.isNaN(best))) {
              best = x[index];
              where = index;
            }
            sum += x[index];
            count++;
          }
        max.push(best);
        at.push(where);
        mean.push(sum / count);
        divisors.push(count);
      }
  return { max, at, mean, divisors, shape: [p.n, p.c, oh, ow] };
}

describe('pooling kernels equal direct loops over each window', () => {
  const poolArb = fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 9 }),
      w: fc.integer({ min: 1, max: 16 }),
      kh: fc.integer({ min: 1, max: 4 }),
      kw: fc.integer({ min: 1, max: 4 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.integer({ min: 1, max: 3 }),
      ph: fc.integer({ min: 0, max: 2 }),
      pw: fc.integer({ min: 0, max: 2 }),
      includePad: fc.boolean(),
      seed: fc.integer(),
    })
    .filter((p) => 2 * p.ph <= p.kh && 2 * p.pw <= p.kw && p.kh <= p.h + 2 * p.ph && p.kw <= p.w + 2 * p.pw);

  it('max (ties among few distinct values go to the first, a NaN wins), mean with and without the padding counted, and their adjoints; float32 too', () => {
    fc.assert(
      fc.property(poolArb, fc.boolean(), (p, nan) => {
        const rng = Rng.seeded(p.seed),
          shape = [p.n, p.c, p.h, p.w];
        const x = Array.from({ length: size(shape) }, () => (nan && rng.uniform() < 0.05 ? NaN : rng.int(4))); // many ties
        const want = directPool(p, x, p.includePad);
        const g = { ...p, oh: want.shape[2], ow: want.shape[3] };
        for (const dtype of ['float64', 'float32'] as const) {
          // float32 runs in WebAssembly where it is built; small integers are exact in both
          const { values, argmax } = k.maxPool2d(arrayOf(x, shape, dtype), g);
          expect(values.shape).toEqual(want.shape);
          expect([...k.flat(values)]).toEqual(want.max);
          expect([...argmax]).toEqual(want.at);
          expectClose(k.flat(k.avgPool2d(arrayOf(x, shape, dtype), g, p.includePad)), want.mean, dtype === 'float64' ? 1e-15 : 1e-6, 1e-6, `${dtype} mean`);
        }
        // adjoints: <gy, pool(dx)> = <pool'(gy), dx>, checked against the loops' own spread
        const gy = draw(rng, want.max.length);
        const spreadMax = new Array(x.length).fill(0),
          spreadMean = new Array(x.length).fill(0);
        for (let o = 0; o < gy.length; o++) spreadMax[want.at[o]] += gy[o];
        const G = arrayOf(gy, want.shape, 'float64');
        expectClose(k.flat(k.scatterAddAt(G, Int32Array.from(want.at), shape)), spreadMax, 1e-15, 1e-15, 'max backward');
        for (let plane = 0, o = 0; plane < p.n * p.c; plane++)
          for (let oy = 0; oy < g.oh; oy++)
            for (let ox = 0; ox < g.ow; ox++, o++) {
              for (let i = 0; i < p.kh; i++)
                for (let j = 0; j < p.kw; j++) {
                  const iy = oy * p.sh - p.ph + i,
                    ix = ox * p.sw - p.pw + j;
                  if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) spreadMean[(plane * p.h + iy) * p.w + ix] += gy[o] / want.divisors[o];
                }
            }
        expectClose(k.flat(k.avgPool2dBackward(G, g, p.includePad)), spreadMean, 1e-14, 1e-14, 'mean backward');
        expectClose(k.flat(k.avgPool2dBackward(arrayOf(gy, want.shape, 'float32'), g, p.includePad)), spreadMean, 1e-5, 1e-5, 'float32 mean backward');
      }),
    );
  });
});

describe('hand-computed cases', () => {
  const leaf = (values: number[][], shape: number[]) => tensor(Float64Array.from(values.flat()), { shape, dtype: 'float64', requiresGrad: true });

  it('conv2d of a 3x3 image with a 2x2 kernel, and both gradients for an upstream gradient [[1, 0], [0, 2]]', () => {
    const x = leaf(
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
        [1, 1, 3, 3],
      ),
      w = leaf(
        [
          [1, 2],
          [3, 4],
        ],
        [1, 1, 2, 2],
      ),
      b = leaf([[10]], [1]);
    const t = new Tape();
    const y = t.conv2d(x, w, {}, b);
    // y[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37, and so on; plus the bias 10
    expect(y.toArray()).toEqual([
      [
        [
          [47, 57],
          [77, 87],
        ],
      ],
    ]);
    const [dx, dw, db] = t.gradients(y, [x, w, b], {
      grad: tensor(
        [
          [
            [
              [1, 0],
              [0, 2],
            ],
          ],
        ],
        f64,
      ),
    });
    expect(dx.toArray()).toEqual([
      [
        [
          [1, 2, 0],
          [3, 6, 4],
          [0, 6, 8],
        ],
      ],
    ]); // w at (0,0), plus 2w at (1,1)
    expect(dw.toArray()).toEqual([
      [
        [
          [11, 14],
          [20, 23],
        ],
      ],
    ]); // x[0:2,0:2] + 2 x[1:3,1:3]
    expect(db.toArray()).toEqual([3]);
  });

  it('maxPool2d sends the gradient to the first maximum of a window (a tie), avgPool2d spreads it', () => {
    const x = leaf(
      [
        [1, 3],
        [3, 2],
      ],
      [1, 1, 2, 2],
    );
    const t = new Tape();
    const m = t.maxPool2d(x, 2),
      a = t.avgPool2d(x, 2);
    expect(m.toFlatArray()).toEqual([3]);
    expect(a.toFlatArray()).toEqual([2.25]);
    expect(t.gradients(m, [x], { grad: tensor([[[[5]]]], f64) })[0].toArray()).toEqual([
      [
        [
          [0, 5],
          [0, 0],
        ],
      ],
    ]);
    expect(t.gradients(a, [x], { grad: tensor([[[[4]]]], f64) })[0].toArray()).toEqual([
      [
        [
          [1, 1],
          [1, 1],
        ],
      ],
    ]);
  });

  it('avgPool2d with padding: count_include_pad divides by the whole window, or by the values inside it', () => {
    const x = leaf(
      [
        [4, 8],
        [12, 16],
      ],
      [1, 1, 2, 2],
    );
    const t = new Tape();
    // 3x3 windows at stride 2 with padding 1: one window, holding the four values and five zeros of padding
    expect(t.avgPool2d(x, 3, { stride: 2, padding: 1 }).toFlatArray()).toEqual([40 / 9]);
    expect(t.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }).toFlatArray()).toEqual([10]);
  });
});

describe('errors name the op, the shapes and what disagrees', () => {
  const t = new Tape();
  const z = (...shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), { shape });
  it.each([
    [() => t.conv2d(z(1, 3, 8, 8), z(6, 2, 3, 3)), 'conv2d: the weights [6,2,3,3] take 2 channels per group x 1 group(s) = 2, but the input [1,3,8,8] has 3'],
    [() => t.conv2d(z(1, 6, 8, 8), z(4, 3, 3, 3), { groups: 4 }), 'conv2d: the input [1,6,8,8] has 6 channels, not divisible by groups 4'],
    [() => t.conv2d(z(1, 4, 8, 8), z(5, 2, 3, 3), { groups: 2 }), 'conv2d: the weights [5,2,3,3] have 5 filters, not divisible by groups 2'],
    [() => t.conv2d(z(1, 4, 8, 8), z(4, 2, 3, 3), { groups: 0 }), 'conv2d: groups must be a positive integer, got 0'],
    [
      () => t.conv2d(z(1, 1, 6, 6), z(1, 1, 5, 5), { dilation: 2, padding: 1 }),
      'conv2d: the kernel 5x5 (spanning 9x9 with dilation 2,2) is larger than the padded input 8x8 (input [1,1,6,6] padded by 1,1)',
    ],
    [() => t.conv2d(z(1, 1, 4, 6), z(1, 1, 5, 5)), 'conv2d: the kernel 5x5 is larger than the padded input 4x6 (input [1,1,4,6] padded by 0,0)'],
    [() => t.conv2d(z(3, 4), z(1, 1, 5, 5)), 'conv2d: the input must be 4-D [N, C, H, W] with positive sizes, got shape [3,4]'],
    [() => t.conv2d(z(1, 1, 8, 8), z(1, 1, 0, 5)), 'conv2d: the weights must be 4-D [F, C/groups, KH, KW] with positive sizes, got shape [1,1,0,5]'],
    [() => t.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3), { stride: 0 }), 'conv2d: stride must be an integer >= 1 or a pair of them, got 0'],
    [() => t.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3), { padding: [1, -1] }), 'conv2d: padding must be an integer >= 0 or a pair of them, got [1,-1]'],
    [() => t.conv2d(z(1, 1, 8, 8), z(6, 1, 5, 5), {}, z(5)), 'conv2d: the bias must be [F] = [6] for weights [6,1,5,5], got [5]'],
    [() => t.conv2d(z(1, 1, 8, 8), z(6, 1, 5, 5).clone('float64')), "conv2d: cannot mix float32 and float64; convert one with .clone('float32')"],
    [
      () => t.conv2dBackwardInput(z(1, 6, 3, 3), z(6, 1, 5, 5), [1, 1, 8, 8]),
      'conv2dBackwardInput: the gradient [1,6,3,3] is not the shape [1,6,4,4] of the output of input [1,1,8,8] with weights [6,1,5,5]',
    ],
    [
      () => t.conv2dBackwardWeight(z(1, 1, 8, 8), z(1, 6, 3, 3), [6, 1, 5, 5]),
      'conv2dBackwardWeight: the gradient [1,6,3,3] is not the shape [1,6,4,4] of the output of input [1,1,8,8] with weights [6,1,5,5]',
    ],
    [() => t.maxPool2d(z(1, 1, 8, 8), 3, { padding: 2 }), 'maxPool2d: padding 2,2 must be at most half the kernel 3x3 (a window could hold only padding)'],
    [() => t.avgPool2d(z(1, 1, 4, 4), 5), 'avgPool2d: the kernel 5x5 is larger than the padded input 4x4 (input [1,1,4,4] padded by 0,0)'],
    [() => t.maxPool2d(z(1, 8, 8), 2), 'maxPool2d: the input must be 4-D [N, C, H, W] with positive sizes, got shape [1,8,8]'],
    [() => t.maxPool2dBackward(z(1, 1, 1, 2), Int32Array.from([0, 4]), [1, 1, 2, 2]), 'maxPool2dBackward: index 4 at 1 is outside the input [1,1,2,2]'],
    [() => t.maxPool2dPick(z(1, 1, 2, 2), Int32Array.from([0]), [1, 1, 1, 2]), 'maxPool2dPick: 1 indices for 2 values [1,1,1,2]'],
  ])('%#', (run, message) => {
    expect(run).toThrow(message);
  });
});

describe('memory', () => {
  it("the chunks' temporaries are freed inside the kernels: repeated steps reuse the same blocks", () => {
    const rng = Rng.seeded(1);
    const x = rng.randn([4, 3, 12, 12], { requiresGrad: true }),
      w = rng.randn([8, 3, 3, 3], { requiresGrad: true });
    const step = () =>
      tidy(() => {
        const t = new Tape();
        t.backward(t.sum(t.maxPool2d(t.conv2d(x, w, { padding: 1 }), 2)));
      });
    step();
    step(); // a parameter holds its gradient until the next backward replaces it: two steps in use
    const used = defaultMemory().used;
    for (let i = 0; i < 3; i++) step();
    expect(defaultMemory().used).toBe(used);
  });
});
