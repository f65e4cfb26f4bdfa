import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { kernels, Tape, tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;

// Reference values from mpmath at 40 digits (mp.erf, mp.erfc; gelu as x·ncdf(x), its derivatives
// ncdf(x) + x·npdf(x) and npdf(x)(2 - x²)), rounded to 17 digits.
const erfTable: [number, number, number][] = [
  [-6, -0.99999999999999998, 2.0],
  [-3, -0.99997790950300141, 1.9999779095030014],
  [-1.5, -0.96610514647531073, 1.9661051464753107],
  [-0.5, -0.52049987781304654, 1.5204998778130465],
  [-1e-3, -0.0011283787909692364, 1.0011283787909692],
  [0, 0.0, 1.0],
  [0.25, 0.27632639016823693, 0.72367360983176307],
  [0.8, 0.74210096470766049, 0.25789903529233951],
  [1, 0.84270079294971487, 0.15729920705028513],
  [1.9, 0.99279042923525747, 0.0072095707647425301],
  [2, 0.99532226501895273, 0.0046777349810472658],
  [2.5, 0.99959304798255504, 0.00040695201744495894],
  [3.5, 0.99999925690162766, 7.4309837234141275e-7],
  [5, 0.99999999999846254, 1.5374597944280349e-12],
];
const geluTable: [number, number, number, number][] = [
  [-8, -4.9767684594174273e-15, -3.979607261086796e-14, -3.1324080717928732e-13],
  [-3, -0.0040496940948902836, -0.011945647204183927, -0.03102293888356605],
  [-1, -0.15865525393145705, -0.083315470587686298, 0.24197072451914335],
  [-0.1, -0.046017216272297102, 0.42047690797526984, 0.78993556947925341],
  [0, 0.0, 0.5, 0.79788456080286536],
  [0.5, 0.34573123063700655, 0.86749512465616284, 0.61611432183752409],
  [1, 0.84134474606854295, 1.0833154705876863, 0.24197072451914335],
  [2.2, 2.1694124154703031, 1.0641406567482105, -0.10074784368329727],
  [4, 3.9998733150326675, 1.0005036496612264, -0.0018736231607083949],
];
const relClose = (got: number, want: number, tol: number) =>
  expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(tol * Math.abs(want) + 1e-300);

describe('erf (kernels/special.ts)', () => {
  it('is within 1.1e-15 of the reference values, and erfc within 5e-15 relative', () => {
    for (const [x, e, c] of erfTable) {
      expect(Math.abs(kernels.erf(x) - e), `erf(${x})`).toBeLessThanOrEqual(1.1e-15);
      relClose(kernels.erfc(x), c, 5e-15);
    }
    expect([kernels.erf(Infinity), kernels.erf(-Infinity), kernels.erfc(Infinity), kernels.erf(NaN)]).toEqual([1, -1, 0, NaN]);
  });

  it('has the derivative 2/√π e^(-x²) everywhere, across the switch between series and fraction', () => {
    fc.assert(
      fc.property(fc.double({ min: -6, max: 6, noNaN: true }), (x) => {
        const h = 1e-5,
          numeric = (kernels.erf(x + h) - kernels.erf(x - h)) / (2 * h);
        expect(Math.abs(numeric - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x))).toBeLessThan(1e-9);
      }),
      { numRuns: 500 },
    );
  });
});

describe('activations: reference values and hand-computed gradients', () => {
  it('gelu is the exact x Φ(x): values, first and second derivatives against mpmath', () => {
    const xs = geluTable.map((r) => r[0]);
    const x = tensor(xs, { ...f64, requiresGrad: true }),
      t = new Tape();
    const y = t.gelu(x);
    const [d1] = t.gradients(t.sum(y), [x], { createGraph: true });
    const [d2] = t.gradients(t.sum(d1), [x]);
    geluTable.forEach(([, v, dv, ddv], i) => {
      relClose(y.toFlatArray()[i], v, 1e-14);
      relClose(d1.toFlatArray()[i], dv, 1e-14);
      relClose(d2.toFlatArray()[i], ddv, 1e-13);
    });
  });

  it('softplus neither overflows nor loses small values; its gradient is sigmoid', () => {
    const x = tensor([1000, -1000, -40, 0], { ...f64, requiresGrad: true }),
      t = new Tape();
    const y = t.softplus(x);
    expect(y.toFlatArray().slice(0, 2)).toEqual([1000, 0]);
    relClose(y.toFlatArray()[2], Math.exp(-40), 1e-15);
    expect(y.toFlatArray()[3]).toBe(Math.LN2);
    const dx = t.gradients(y, [x], { grad: tensor([2, 2, 2, 2], f64) })[0].toFlatArray();
    [2, 0, 2 / (1 + Math.exp(40)), 1].forEach((want, i) => relClose(dx[i], want, 1e-15));
  });

  it('leakyRelu: slope·x at and below 0 (the kink takes the slope), x above', () => {
    const x = tensor([-2, 0, 3], { ...f64, requiresGrad: true }),
      t = new Tape();
    const y = t.leakyRelu(x, 0.1);
    expect(y.toFlatArray()).toEqual([-0.2, 0, 3]);
    expect(t.gradients(y, [x], { grad: tensor([1, 2, 3], f64) })[0].toFlatArray()).toEqual([0.1, 0.2, 3]);
    expect(t.leakyRelu(tensor([-100], f64)).item()).toBe(-1); // the default slope is 0.01
  });

  it('logSumExp is stable for large values, handles infinite rows, and its gradient is the softmax', () => {
    const t = new Tape();
    expect(
      t
        .logSumExp(
          tensor(
            [
              [1000, 1000],
              [-1000, -1000],
            ],
            f64,
          ),
        )
        .toFlatArray(),
    ).toEqual([1000 + Math.LN2, -1000 + Math.LN2]);
    expect(
      t
        .logSumExp(
          tensor(
            [
              [-Infinity, -Infinity],
              [Infinity, 0],
            ],
            f64,
          ),
        )
        .toFlatArray(),
    ).toEqual([-Infinity, Infinity]);
    const x = tensor(
      [
        [0, Math.log(3)],
        [Math.log(2), Math.log(2)],
      ],
      { ...f64, requiresGrad: true },
    );
    const y = t.logSumExp(x, 0); // columns: log(1 + 2), log(3 + 2)
    relClose(y.toFlatArray()[0], Math.log(3), 1e-15);
    relClose(y.toFlatArray()[1], Math.log(5), 1e-15);
    const [dx] = t.gradients(y, [x], { grad: tensor([3, 10], f64) });
    [
      [1, 6],
      [2, 4],
    ]
      .flat()
      .forEach((want, i) => relClose(dx.toFlatArray()[i], want, 1e-15)); // 3·[1/3, 2/3], 10·[3/5, 2/5]
  });

  it('mseLoss averages over every element of any shape', () => {
    const p = tensor([[[1, 2]], [[3, 4]]], { ...f64, requiresGrad: true }),
      q = tensor([[[0, 2]], [[5, 4]]], { ...f64, requiresGrad: true }),
      t = new Tape();
    const l = t.mseLoss(p, q);
    expect(l.item()).toBe(1.25); // (1 + 0 + 4 + 0) / 4
    const [dp, dq] = t.gradients(l, [p, q], { grad: tensor(2, f64) }); // 2 · 2 (p - q) / 4
    expect(dp.toArray()).toEqual([[[1, 0]], [[-2, 0]]]);
    expect(dq.toArray()).toEqual([[[-1, -0]], [[2, -0]]]);
  });

  it('float32 works', () => {
    const t = new Tape(),
      x = tensor([-1, 0.5, 2]);
    expect(t.gelu(x).dtype).toBe('float32');
    t.gelu(x)
      .toFlatArray()
      .forEach((v, i) => relClose(v, [geluTable[2][1], geluTable[5][1], 2 * 0.9772498680518208][i], 1e-7));
  });
});

describe('errors name the op, the shapes and what disagrees', () => {
  const t = new Tape();
  it('mseLoss, logSumExp and geluBackward', () => {
    expect(() => t.mseLoss(tensor([[1, 2]], f64), tensor([1, 2], f64))).toThrow('mseLoss: prediction [1,2] and target [2] differ in shape');
    expect(() => t.mseLoss(tensor([1]), tensor([1], f64))).toThrow("mseLoss: cannot mix float32 and float64; convert one with .clone('float32')");
    expect(() => t.mseLoss(tensor(new Float64Array(0), { shape: [0, 3] }), tensor(new Float64Array(0), { shape: [0, 3] }))).toThrow(
      'mseLoss: the prediction [0,3] has no elements to average',
    );
    expect(() => t.logSumExp(tensor([1, 2], f64), 1)).toThrow('logSumExp: axis 1 is out of range for shape [2]');
    expect(() => t.geluBackward(tensor([1, 2], f64), tensor([1], f64))).toThrow('geluBackward: g [2] and x [1] differ in shape');
  });
});
