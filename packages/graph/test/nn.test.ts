// The layer library: shapes, gradients against central differences (float64), batchNorm's running
// statistics against their closed form, dropout's modes and seeds, a layer of one's own, and errors.
import { describe, expect, it } from 'vitest';
import { gradcheck, nn, Rng, SGD, Tape, tensor, tidy, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;

/** The model's output for x, with the parameters replaced by `ps` (in order): what gradcheck differentiates. */
function withParams(model: nn.Model, ps: Tensor[]): nn.Model {
  return new nn.Model(model.layer, new Map([...model.params.keys()].map((name, i) => [name, ps[i]])), model.state);
}

/** gradcheck of sum(v ⊙ layer(x)) with respect to x (unless `fixedInput`) and every parameter, in training mode with a fixed dropout mask. */
function check(layer: nn.Layer, x: Tensor, fixedInput = false) {
  const model = nn.Model.init(layer, Rng.seeded(2), f64);
  const mode = () => ({ training: true, rng: Rng.seeded(4), updateState: false });
  const fn = fixedInput
    ? (t: Tape, ...ps: Tensor[]) => withParams(model, ps).forward(t, x, mode())
    : (t: Tape, x2: Tensor, ...ps: Tensor[]) => withParams(model, ps).forward(t, x2, mode());
  return gradcheck(fn, fixedInput ? model.parameters() : [x, ...model.parameters()]);
}

const run = (layer: nn.Layer, x: Tensor, mode: nn.ModelMode = {}) => tidy(() => nn.Model.init(layer, Rng.seeded(1), f64).forward(new Tape(), x, mode));

describe('layers: output shapes and gradients (float64, central differences)', () => {
  const rng = Rng.seeded(11);
  const cases: [string, nn.Layer, Tensor, number[]][] = [
    ['Linear', new nn.Linear(5, 3, { activation: 'tanh' }), rng.randn([4, 5], f64), [4, 3]],
    ['Linear without bias', new nn.Linear(5, 3, { bias: false }), rng.randn([4, 5], f64), [4, 3]],
    ['Conv2d', new nn.Conv2d(2, 3, 3, { padding: 1, stride: 2, activation: 'gelu' }), rng.randn([2, 2, 5, 5], f64), [2, 3, 3, 3]],
    ['Conv2d in groups', new nn.Conv2d(4, 2, [3, 2], { groups: 2 }), rng.randn([1, 4, 4, 4], f64), [1, 2, 2, 3]],
    ['MaxPool2d', new nn.MaxPool2d(2), rng.randn([2, 3, 4, 6], f64), [2, 3, 2, 3]],
    ['AvgPool2d', new nn.AvgPool2d(3, { stride: 1, padding: 1 }), rng.randn([1, 2, 4, 4], f64), [1, 2, 4, 4]],
    ['Flatten', new nn.Flatten(), rng.randn([2, 3, 2, 2], f64), [2, 12]],
    ['LayerNorm', new nn.LayerNorm(6), rng.randn([3, 2, 6], f64), [3, 2, 6]],
    ['BatchNorm over [N, C]', new nn.BatchNorm(4), rng.randn([6, 4], f64), [6, 4]],
    ['BatchNorm over [N, C, H, W]', new nn.BatchNorm(3), rng.randn([2, 3, 2, 2], f64), [2, 3, 2, 2]],
    ['Dropout', new nn.Dropout(0.4), rng.randn([5, 6], f64), [5, 6]],
    ['Sequential', new nn.Sequential([new nn.Linear(4, 6, { activation: 'relu' }), new nn.LayerNorm(6), new nn.Linear(6, 2)]), rng.randn([3, 4], f64), [3, 2]],
    ['Residual', new nn.Residual(new nn.Sequential([new nn.Linear(4, 4, { activation: 'tanh' }), new nn.Linear(4, 4)])), rng.randn([3, 4], f64), [3, 4]],
    ['Activation', new nn.Activation('softplus'), rng.randn([2, 3], f64), [2, 3]],
  ];
  for (const [name, layer, x, shape] of cases) {
    it(`${name}: ${layer.label} maps [${x.shape}] to [${shape}], and passes gradcheck`, () => {
      expect(run(layer, x).shape).toEqual(shape);
      const report = check(layer, x);
      expect(report.ok, report.summary).toBe(true);
      expect(report.inputs.length).toBe(1 + nn.Model.init(layer, Rng.seeded(1)).parameters().length);
    });
  }

  it("Embedding: rows of its table for indices of any shape, and the table's gradient", () => {
    const layer = new nn.Embedding(5, 3),
      idx = tensor(
        [
          [0, 4, 4],
          [2, 1, 0],
        ],
        f64,
      );
    const model = nn.Model.init(layer, Rng.seeded(1), f64);
    const y = tidy(() => model.forward(new Tape(), idx));
    expect(y.shape).toEqual([2, 3, 3]);
    const table = model.params.get('weight')!.toArray() as number[][];
    expect(y.toArray()).toEqual([
      [table[0], table[4], table[4]],
      [table[2], table[1], table[0]],
    ]);
    const report = check(layer, idx, true);
    expect(report.ok, report.summary).toBe(true);
  });
});

describe('names, initialisation and state', () => {
  it("names tensors as torch's state_dict does: by position or by name, a Residual adding no name, state after every parameter", () => {
    const net = new nn.Sequential([
      new nn.Conv2d(1, 2, 3),
      new nn.BatchNorm(2),
      new nn.Flatten(),
      new nn.Residual(new nn.Linear(8, 8)),
      new nn.Sequential({ head: new nn.Linear(8, 2) }),
    ]);
    const model = nn.Model.init(net, Rng.seeded(1));
    expect([...model.stateDict().keys()]).toEqual([
      '0.weight',
      '0.bias',
      '1.gain',
      '1.bias',
      '3.weight',
      '3.bias',
      '4.head.weight',
      '4.head.bias',
      '1.mean',
      '1.var',
    ]);
    expect(model.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect([...model.state.values()].map((s) => s.toFlatArray())).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(() => new nn.Sequential([new nn.Linear(1, 1), 'relu' as never])).toThrow(/^Sequential: '1' is not a layer/);
  });

  it('names each tensor by its path, so that errors (backward, an optimiser) say which: 0.weight, not a shape', () => {
    const model = nn.Model.init(new nn.Sequential([new nn.Linear(2, 2), new nn.BatchNorm(2)]), Rng.seeded(1), f64);
    expect([...model.stateDict()].map(([name, t]) => t.name === name)).toEqual([true, true, true, true, true, true]);
    expect(() => new SGD(model.parameters(), 0.1).step()).toThrow(/^optimizer: parameter '0\.weight' \[2,2\] has no gradient/);
    const W = model.params.get('0.weight')!;
    const t = new Tape();
    const loss = t.sum(model.forward(t, tensor([[1, 2]], f64)));
    W.assign(
      tensor(
        [
          [0, 0],
          [0, 0],
        ],
        f64,
      ),
    );
    expect(() => t.backward(loss)).toThrow(/^backward: matmul saved '0\.weight' \[2,2\] at version 0, but it was modified in place since \(now version 1\)/);
  });

  it('draws xavier within ±sqrt(6 / (in + out)), he with variance 2 / fan-in (filters: in·kh·kw), biases zero, the same bits from the same seed', () => {
    const linear = nn.Model.init(new nn.Linear(300, 200), Rng.seeded(1));
    const w = linear.params.get('weight')!.toFlatArray(),
      bound = Math.sqrt(6 / 500);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    expect(
      linear.params
        .get('bias')!
        .toFlatArray()
        .every((b) => b === 0),
    ).toBe(true);
    const conv = nn.Model.init(new nn.Conv2d(8, 64, 5, { init: 'he' }), Rng.seeded(1))
      .params.get('weight')!
      .toFlatArray();
    const variance = conv.reduce((a, v) => a + v * v, 0) / conv.length;
    expect(variance).toBeGreaterThan(0.95 * (2 / 200));
    expect(variance).toBeLessThan(1.05 * (2 / 200));
    const again = nn.Model.init(new nn.Linear(300, 200), Rng.seeded(1));
    expect(Buffer.from(again.params.get('weight')!.bytes()).equals(linear.params.get('weight')!.bytes())).toBe(true);
  });

  it('BatchNorm: running statistics after two training passes equal their closed form, and evaluation normalises with them', () => {
    const layer = new nn.BatchNorm(2, { momentum: 0.25 }),
      model = nn.Model.init(layer, Rng.seeded(1), f64);
    const batches = [
      [
        [1, 10],
        [3, 14],
        [8, 9],
      ],
      [
        [2, -1],
        [0, 5],
        [4, 2],
        [6, 6],
      ],
    ];
    const mean = [0, 0],
      variance = [1, 1];
    for (const b of batches) {
      tidy(() => model.forward(new Tape(), tensor(b, f64), { training: true }));
      for (let c = 0; c < 2; c++) {
        const col = b.map((r) => r[c]),
          m = col.reduce((a, v) => a + v, 0) / col.length;
        const unbiased = col.reduce((a, v) => a + (v - m) ** 2, 0) / (col.length - 1);
        mean[c] = 0.75 * mean[c] + 0.25 * m;
        variance[c] = 0.75 * variance[c] + 0.25 * unbiased;
      }
    }
    model.state
      .get('mean')!
      .toFlatArray()
      .forEach((v, c) => expect(v).toBeCloseTo(mean[c], 14));
    model.state
      .get('var')!
      .toFlatArray()
      .forEach((v, c) => expect(v).toBeCloseTo(variance[c], 14));
    model.params.get('gain')!.array.data.set([2, 0.5]);
    model.params.get('bias')!.array.data.set([1, -1]);
    const y = tidy(() => model.forward(new Tape(), tensor([[5, 7]], f64))).toFlatArray();
    expect(y[0]).toBeCloseTo(((5 - mean[0]) / Math.sqrt(variance[0] + 1e-5)) * 2 + 1, 12);
    expect(y[1]).toBeCloseTo(((7 - mean[1]) / Math.sqrt(variance[1] + 1e-5)) * 0.5 - 1, 12);
    const before = model.state.get('mean')!.toFlatArray();
    tidy(() => model.forward(new Tape(), tensor(batches[0], f64), { training: true, updateState: false }));
    expect(model.state.get('mean')!.toFlatArray()).toEqual(before);
  });

  it('Dropout: the identity in evaluation; in training, masks fixed by the seed, the rate dropped, the rest scaled by 1 / (1 - rate)', () => {
    const layer = new nn.Dropout(0.25),
      x = tensor(
        Array.from({ length: 4000 }, (_, i) => 1 + (i % 7)),
        { ...f64, shape: [40, 100] },
      );
    expect(run(layer, x).toFlatArray()).toEqual(x.toFlatArray());
    const a = run(layer, x, { training: true, rng: Rng.seeded(5) }).toFlatArray();
    expect(run(layer, x, { training: true, rng: Rng.seeded(5) }).toFlatArray()).toEqual(a);
    expect(run(layer, x, { training: true, rng: Rng.seeded(6) }).toFlatArray()).not.toEqual(a);
    const dropped = a.filter((v) => v === 0).length / a.length;
    expect(dropped).toBeGreaterThan(0.22);
    expect(dropped).toBeLessThan(0.28);
    a.forEach((v, i) => v !== 0 && expect(v).toBe((1 + (i % 7)) * (1 / 0.75)));
    expect(() => run(layer, x, { training: true })).toThrow(/^Dropout\(0\.25\): dropout: training needs the run's Rng/);
  });
});

describe('a layer of your own', () => {
  /** A gated linear unit: (x W + b) ⊙ sigmoid(x V + c), its two halves declared as sub-layers. */
  class GLU implements nn.Layer {
    readonly label: string;
    readonly layers: ReadonlyMap<string, nn.Layer>;
    constructor(inFeatures: number, outFeatures: number) {
      this.label = `GLU(${inFeatures}, ${outFeatures})`;
      this.layers = new Map([
        ['value', new nn.Linear(inFeatures, outFeatures)],
        ['gate', new nn.Linear(inFeatures, outFeatures, { activation: 'sigmoid' })],
      ]);
    }
    forward(t: Tape, x: Tensor, ctx: nn.LayerContext): Tensor {
      return t.mul(ctx.apply('value', t, x), ctx.apply('gate', t, x));
    }
  }
  /** A per-feature scale, declared as data: an object with its parameters and a forward pass. */
  const scale = (d: number): nn.Layer => ({
    label: `Scale(${d})`,
    parameters: { s: { shape: [d], init: 'ones' } },
    forward: (t, x, { p }) => t.mul(x, p.s),
  });

  it('composes with the built-in ones: names, shapes, gradcheck, and its errors name it', () => {
    const net = new nn.Sequential({ glu: new GLU(3, 4), scale: scale(4) });
    expect([...nn.Model.init(net, Rng.seeded(1)).params.keys()]).toEqual(['glu.value.weight', 'glu.value.bias', 'glu.gate.weight', 'glu.gate.bias', 'scale.s']);
    const x = Rng.seeded(3).randn([5, 3], f64);
    expect(run(net, x).shape).toEqual([5, 4]);
    const report = check(net, x);
    expect(report.ok, report.summary).toBe(true);
    expect(() => run(net, Rng.seeded(3).randn([5, 2], f64))).toThrow(/^Linear\(3, 4\) 'glu\.value': expects input \[n, 3\], got \[5,2\]$/);
    expect(() => run(new nn.Sequential([new nn.Linear(3, 4), scale(3)]), x)).toThrow(/^Scale\(3\) '1': mul: /);
  });
});

describe('a wrong input gets one line naming the layer', () => {
  const x2 = tensor([[1, 2, 3]], f64),
    x4 = Rng.seeded(1).randn([1, 3, 4, 4], f64);
  const cases: [nn.Layer, Tensor, RegExp][] = [
    [new nn.Linear(4, 2), x2, /^Linear\(4, 2\): expects input \[n, 4\], got \[1,3\]$/],
    [new nn.Conv2d(1, 2, 3), x4, /^Conv2d\(1, 2, 3\): expects input \[N, 1, H, W\], got \[1,3,4,4\]$/],
    [new nn.Conv2d(3, 2, 5), x4, /^Conv2d\(3, 2, 5\): conv2d: the kernel 5x5 is larger than the padded input 4x4/],
    [new nn.MaxPool2d(2), x2, /^MaxPool2d\(2\): expects input \[N, C, H, W\], got \[1,3\]$/],
    [new nn.AvgPool2d([2, 2]), x2, /^AvgPool2d\(\[2,2\]\): expects input \[N, C, H, W\], got \[1,3\]$/],
    [new nn.LayerNorm(4), x2, /^LayerNorm\(4\): expects input \[\.\.\., 4\], got \[1,3\]$/],
    [new nn.BatchNorm(4), x4, /^BatchNorm\(4\): expects input \[N, 4, \.\.\.\] \(channels on axis 1\), got \[1,3,4,4\]$/],
    [new nn.Embedding(3, 2), x2, /^Embedding\(3, 2\): the input \[1,3\] holds 3 at flat index 2: indices must be whole numbers in \[0, 3\)$/],
    [new nn.Residual(new nn.Linear(3, 2)), x2, /^Residual\(Linear\(3, 2\)\): the inner layer maps \[1,3\] to \[1,2\]; x \+ f\(x\) needs the same shape$/],
    [
      new nn.Sequential({ a: new nn.Linear(3, 3), b: new nn.Sequential([new nn.Linear(2, 2)]) }),
      x2,
      /^Linear\(2, 2\) 'b\.0': expects input \[n, 2\], got \[1,3\]$/,
    ],
  ];
  for (const [layer, x, message] of cases) it(layer.label, () => expect(() => run(layer, x)).toThrow(message));

  it('bad constructor arguments are refused when the layer is made', () => {
    expect(() => new nn.Linear(0, 3)).toThrow(/^Linear\(0, 3\): inFeatures must be a positive integer, got 0$/);
    expect(() => new nn.Linear(3, 3, { activation: 'swish' as never })).toThrow(
      /^Linear\(3, 3\): activation must be one of relu, tanh, sigmoid, gelu, elu, softplus, leakyRelu, got "swish"$/,
    );
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/^Conv2d\(3, 4, 3\): groups 2 must divide both channel counts$/);
    expect(() => new nn.Dropout(1)).toThrow(/^Dropout\(1\): the rate must be in \[0, 1\)$/);
  });
});
