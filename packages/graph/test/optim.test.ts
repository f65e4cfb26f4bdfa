/**
 * The optimisers and schedules as a user of @backprop/graph calls them: closed forms computed by
 * hand in float64, a property test over random shapes against a plain per-element loop (bit for
 * bit, float32 and float64, every kernel build), the layer library's parameters plugged straight
 * in, version counters, an exact resume, and every error.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import {
  Adam,
  AdamW,
  constant,
  cosine,
  exponential,
  LRScheduler,
  nn,
  Rng,
  SGD,
  stepDecay,
  Tape,
  tensor,
  warmup,
  type DType,
  type Optimizer,
  type Tensor,
} from '../src/index.ts';
import { binary } from '../src/kernels/builds.ts';
import { defaultMemory } from '../src/kernels/memory.ts';
import { adamStep, type AdamHyper } from '../src/kernels/optim.ts';
import { loadKernels } from '../src/kernels/wasm.ts';

const f64 = { dtype: 'float64', requiresGrad: true } as const;

/** A parameter with values `w` and gradient `g` (float64 unless said). */
function param(w: number[], g: number[], dtype: DType = 'float64', name?: string): Tensor {
  const p = tensor(w, { dtype, requiresGrad: true, name });
  p.grad = tensor(g, { dtype });
  return p;
}

describe('closed forms (float64)', () => {
  it('SGD on f(w) = (w - 3)² / 2 moves w by lr (w - 3): w_n = 3 + (w_0 - 3)(1 - lr)^n', () => {
    const w = tensor([10], f64),
      three = tensor([3], { dtype: 'float64' }),
      opt = new SGD([w], { lr: 0.25 });
    for (let n = 1; n <= 5; n++) {
      const t = new Tape();
      t.backward(t.scale(t.sum(t.square(t.sub(w, three))), 0.5));
      opt.step();
      expect(w.item()).toBeCloseTo(3 + 7 * 0.75 ** n, 14);
    }
  });
  it("Adam's first step is lr sign(g), up to eps: m̂ = g, v̂ = g²", () => {
    const g = [1e-3, -5, 0.5, 2e4];
    const w = param([1, 1, 1, 1], g);
    new Adam([w], { lr: 0.01 }).step();
    w.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(1 - (0.01 * g[i]) / (Math.abs(g[i]) + 1e-8), 15));
    w.toFlatArray().forEach((v, i) => expect(Math.abs(v - (1 - 0.01 * Math.sign(g[i])))).toBeLessThan(1e-7));
  });
  it('bias correction over three steps with gradients 1, 2, -1 (betas 0.5, 0.75), by hand', () => {
    const w = param([0], [1]),
      opt = new Adam([w], { lr: 0.1, betas: [0.5, 0.75], eps: 0 });
    // m1 = 0.5, v1 = 0.25; m2 = 0.25 + 1 = 1.25, v2 = 0.1875 + 1 = 1.1875; m3 = 0.625 - 0.5 = 0.125, v3 = 0.890625 + 0.25 = 1.140625
    const expected = [0.5 / 0.5 / Math.sqrt(0.25 / 0.25), 1.25 / 0.75 / Math.sqrt(1.1875 / 0.4375), 0.125 / 0.875 / Math.sqrt(1.140625 / 0.578125)];
    let at = 0;
    [1, 2, -1].forEach((g, k) => {
      w.grad = tensor([g], { dtype: 'float64' });
      opt.step();
      at -= 0.1 * expected[k];
      expect(w.item()).toBeCloseTo(at, 15);
    });
    expect((opt as Adam).steps).toBe(3);
  });
  it('AdamW decays w by lr wd before the update; Adam with L2 adds wd w to the gradient (so Adam normalises the decay away)', () => {
    // one step from w = 2, g = 0: AdamW: w (1 - lr wd) - lr 0 = 2 (1 - 0.1 * 0.5) = 1.9
    const a = param([2], [0]);
    new AdamW([a], { lr: 0.1, weightDecay: 0.5 }).step();
    expect(a.item()).toBe(2 * (1 - 0.1 * 0.5));
    // Adam + L2: g' = 0 + 0.5 * 2 = 1, the first step is lr sign(g') = 0.1: 2 - 0.1 / (1 + 1e-8)
    const b = param([2], [0]);
    new Adam([b], { lr: 0.1, weightDecay: 0.5 }).step();
    expect(b.item()).toBeCloseTo(2 - 0.1 / (1 + 1e-8), 15);
    expect(b.grad!.item()).toBe(1); // L2 is written into the gradient, as torch's Adam uses it
  });
  it('momentum: v = mu v + g, w -= lr v; Nesterov: w -= lr (g + mu v)', () => {
    const plain = param([1], [2]),
      nesterov = param([1], [2]);
    const a = new SGD([plain], { lr: 0.1, momentum: 0.5 }),
      b = new SGD([nesterov], { lr: 0.1, momentum: 0.5, nesterov: true });
    a.step(); // v = 2, w = 0.8
    a.step(); // v = 3, w = 0.5
    b.step(); // v = 2, w = 1 - 0.1 (2 + 1) = 0.7
    b.step(); // v = 3, w = 0.7 - 0.1 (2 + 1.5) = 0.35
    expect(plain.item()).toBeCloseTo(0.5, 15);
    expect(nesterov.item()).toBeCloseTo(0.35, 15);
  });
  it('the weight decay of a `decays` filter spares the parameters it rejects (biases, here)', () => {
    const W = param([1, 1], [0, 0]),
      b = param([1], [0]);
    const decays = (p: Tensor) => p.name !== 'b';
    b.name = 'b';
    new AdamW([W, b], { lr: 0.1, weightDecay: 0.5, decays }).step();
    expect([...W.toFlatArray(), b.item()]).toEqual([0.95, 0.95, 1]);
  });
  it('zeroGrad drops every gradient', () => {
    const w = param([1], [1]),
      opt = new SGD([w], 0.1);
    opt.zeroGrad();
    expect(w.grad).toBeNull();
    expect(() => opt.step()).toThrow(/^optimizer: parameter \[1\] has no gradient: the loss does not depend on it, or tape.backward\(loss\) was not run$/);
  });
});

describe('schedules, at named steps', () => {
  it('constant, step (torch StepLR), exponential, cosine (to min, then min), warm-up', () => {
    expect([0, 100].map(constant(0.1))).toEqual([0.1, 0.1]);
    expect([0, 9, 10, 19, 20].map(stepDecay({ lr: 1, every: 10, gamma: 0.5 }))).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect([0, 1, 3].map(exponential({ lr: 2, gamma: 0.5 }))).toEqual([2, 1, 0.25]);
    const c = cosine({ lr: 1, steps: 4, min: 0.2 });
    expect([0, 2, 4, 9].map(c)).toEqual([1, 0.6000000000000001, 0.2, 0.2]);
    expect(c(1)).toBeCloseTo(0.2 + (0.8 * (1 + Math.SQRT1_2)) / 2, 15);
    const w = warmup({ lr: 0.1, steps: 4 }, cosine({ lr: 0.1, steps: 2 }));
    expect([0, 1, 3, 4, 5, 6].map(w)).toEqual([0.025, 0.05, 0.1, 0.1, 0.05, 0]);
  });
  it('an LRScheduler sets opt.lr: schedule(0) at once, schedule(n) after the n-th step, and resumes from a step count', () => {
    const w = param([0], [1]),
      opt = new SGD([w], 1);
    const s = new LRScheduler(opt, stepDecay({ lr: 0.1, every: 2, gamma: 0.5 }));
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      rates.push(opt.lr);
      opt.step();
      s.step();
    }
    expect(rates).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    expect(w.item()).toBeCloseTo(-0.325, 15);
    new LRScheduler(opt, stepDecay({ lr: 0.1, every: 2, gamma: 0.5 }), s.steps);
    expect(opt.lr).toBe(0.025);
  });
});

/** The plain per-element loops the optimisers must equal, in float64, rounding to float32 where a float32 array stores. */
const reference = {
  adam(w: number[], g: number[], m: number[], v: number[], h: AdamHyper, round: (x: number) => number): void {
    for (let i = 0; i < w.length; i++) {
      if (h.decay !== 1) w[i] = round(w[i] * h.decay);
      m[i] = round(h.b1 * m[i] + (1 - h.b1) * g[i]);
      v[i] = round(h.b2 * v[i] + (1 - h.b2) * g[i] * g[i]);
      w[i] = round(w[i] - (h.lr * (m[i] / h.c1)) / (Math.sqrt(v[i] / h.c2) + h.eps));
    }
  },
  momentum(w: number[], g: number[], v: number[], lr: number, mu: number, nesterov: boolean, round: (x: number) => number): void {
    for (let i = 0; i < w.length; i++) {
      v[i] = round(mu * v[i] + g[i]);
      w[i] = round(w[i] - lr * (nesterov ? g[i] + mu * v[i] : v[i]));
    }
  },
};

const shapes = fc.array(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 });
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('the optimisers equal a plain per-element loop bit for bit, on random shapes', () => {
  const cases = fc.record({
    shapes,
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    dtype: fc.constantFrom<DType>('float32', 'float64'),
    kind: fc.constantFrom('adam', 'adamw', 'momentum', 'nesterov'),
    lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
    b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    b2: fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
    wd: fc.constantFrom(0, 0.01, 0.3),
  });
  it('Adam, AdamW and (Nesterov) momentum over 3 steps', () => {
    fc.assert(
      fc.property(cases, ({ shapes, seed, dtype, kind, lr, b1, b2, wd }) => {
        const rng = Rng.seeded(seed),
          round = dtype === 'float32' ? Math.fround : (x: number) => x;
        const params = shapes.map((s) => rng.randn(s, { dtype, requiresGrad: true }));
        // momentum 0 is plain SGD, whose float32 update is the SIMD kernel's (float32 products, as the paper's runs have it)
        const mu = b1 > 0 ? b1 : 0.5;
        const w = params.map((p) => Array.from(p.toFlatArray()));
        const m = shapes.map((s) => new Array<number>(size(s)).fill(0)),
          v = shapes.map((s) => new Array<number>(size(s)).fill(0));
        const opt: Optimizer =
          kind === 'adam' || kind === 'adamw'
            ? new (kind === 'adam' ? Adam : AdamW)(params, { lr, betas: [b1, b2], eps: 1e-8, weightDecay: kind === 'adamw' ? wd : 0 })
            : new SGD(params, { lr, momentum: mu, nesterov: kind === 'nesterov' });
        for (let t = 1; t <= 3; t++) {
          params.forEach((p) => (p.grad = rng.randn(p.shape, { dtype })));
          const g = params.map((p) => Array.from(p.grad!.toFlatArray()));
          opt.step();
          params.forEach((_, k) => {
            if (kind === 'momentum' || kind === 'nesterov') reference.momentum(w[k], g[k], v[k], lr, mu, kind === 'nesterov', round);
            else
              reference.adam(
                w[k],
                g[k],
                m[k],
                v[k],
                { lr, b1, b2, c1: 1 - b1 ** t, c2: 1 - b2 ** t, eps: 1e-8, decay: kind === 'adamw' ? 1 - lr * wd : 1 },
                round,
              );
          });
          params.forEach((p, k) => expect(Array.from(p.toFlatArray())).toEqual(w[k]));
        }
      }),
    );
  });

  setFlagsFromString('--experimental-wasm-relaxed-simd'); // the fused build needs it on Node 20
  const builds = defaultMemory().wasm ? (['plain', 'fused'] as const).map((b) => ({ name: b, w: loadKernels(binary(b))! })) : [];
  it.each(builds)("the $name build's multi-tensor Adam (one call for every tensor) gives adamStep's bits", ({ w: kernels }) => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (shapes, seed, decays) => {
        const rng = Rng.seeded(seed),
          draw = (s: number[]) => rng.randn(s).array.data as Float32Array;
        const slots = shapes.map((s) => ({ w: draw(s), g: draw(s), m: draw(s), v: rng.rand(s).array.data as Float32Array }));
        const copies = slots.map((s) => ({ w: s.w.slice(), g: s.g.slice(), m: s.m.slice(), v: s.v.slice() }));
        const h = { lr: 0.01, b1: 0.9, b2: 0.999, c1: 1 - 0.9 ** 3, c2: 1 - 0.999 ** 3, eps: 1e-8, decay: decays ? 1 - 0.01 * 0.1 : 1 };
        expect(kernels.adamSteps(slots, h)).toBe(true);
        copies.forEach((c) => adamStep(c, h));
        slots.forEach((s, k) => expect([s.w, s.m, s.v]).toEqual([copies[k].w, copies[k].m, copies[k].v]));
      }),
    );
  });
});

describe('with the layer library, version counters and resume', () => {
  const net = () => nn.Model.init(new nn.Sequential([new nn.Linear(3, 4, { activation: 'tanh' }), new nn.Linear(4, 2)]), Rng.seeded(5));
  const x = Rng.seeded(6).randn([5, 3]);
  const lossOf = (t: Tape, model: nn.Model) => t.sum(t.square(model.forward(t, x)));
  function train(model: nn.Model, opt: Optimizer, steps: number): void {
    for (let i = 0; i < steps; i++) {
      const t = new Tape();
      t.backward(lossOf(t, model));
      opt.step();
    }
  }

  it("a Model's parameters() plug straight in, and training lowers the loss", () => {
    const model = net(),
      opt = new AdamW(model.parameters(), { lr: 0.05 });
    const before = lossOf(new Tape(), model).item();
    train(model, opt, 20);
    expect(lossOf(new Tape(), model).item()).toBeLessThan(before / 2);
  });
  it('a step after a forward that saved a parameter makes backward throw, naming it and both versions', () => {
    const model = net(),
      opt = new Adam(model.parameters(), { lr: 0.01 });
    train(model, opt, 1);
    const t = new Tape(),
      loss = lossOf(t, model);
    opt.step(); // the gradients of the previous step, written into the parameters the tape saved
    expect(() => t.backward(loss)).toThrow(/^backward: matmul saved '1.weight' \[4,2\] at version 1, but it was modified in place since \(now version 2\)/);
  });
  it('state() and loadState() resume exactly: 3 + 4 steps equal 7', () => {
    const a = net(),
      optA = new Adam(a.parameters(), { lr: 0.02 });
    train(a, optA, 7);
    const b = net(),
      optB = new Adam(b.parameters(), { lr: 0.02 });
    train(b, optB, 3);
    const saved = optB.state().map((s) => s.slice()),
      weights = b.parameters().map((p) => p.toFlatArray());
    const c = net();
    c.parameters().forEach((p, i) => p.update((a) => a.data.set(weights[i])));
    const optC = new Adam(c.parameters(), { lr: 0.02 });
    optC.loadState(saved);
    train(c, optC, 4);
    expect(c.parameters().map((p) => p.toFlatArray())).toEqual(a.parameters().map((p) => p.toFlatArray()));
    expect(() => optC.loadState(saved.slice(1))).toThrow(/^Adam.loadState: 8 buffers for 9: the state of another optimiser\?$/);
  });
});

describe('errors: one line naming the problem and the way out', () => {
  const w = () => param([1], [1]);
  it.each([
    [
      'a parameter without requiresGrad',
      () => new SGD([tensor([1], { name: 'x' })], 0.1),
      "SGD: parameter 'x' [1] does not require a gradient: make it with { requiresGrad: true }, or leave it out",
    ],
    ['no parameters', () => new Adam([], 0.1), 'Adam: the parameter list is empty: pass model.parameters() (tensors made with { requiresGrad: true })'],
    [
      'a parameter twice',
      () => {
        const p = w();
        return new SGD([p, p], 0.1);
      },
      'SGD: parameter [1] is listed twice: each parameter once',
    ],
    ['a negative lr', () => new Adam([w()], { lr: -1 }), 'Adam: lr is -1; it must be a number >= 0'],
    ['a NaN lr', () => new SGD([w()], Number.NaN), 'SGD: lr is NaN; it must be a number >= 0'],
    ['beta1 of 1', () => new Adam([w()], { lr: 0.1, betas: [1, 0.999] }), 'Adam: betas[0] is 1; it must be a number in [0, 1)'],
    ['beta2 above 1', () => new AdamW([w()], { lr: 0.1, betas: [0.9, 1.5] }), 'AdamW: betas[1] is 1.5; it must be a number in [0, 1)'],
    ['a negative eps', () => new Adam([w()], { lr: 0.1, eps: -1 }), 'Adam: eps is -1; it must be a number >= 0'],
    ['nesterov without momentum', () => new SGD([w()], { lr: 0.1, nesterov: true }), 'SGD: nesterov needs a momentum > 0'],
    ['no options', () => new SGD([w()], undefined as unknown as number), 'SGD: the options are undefined; pass the learning rate, or { lr, ... }'],
    [
      'a schedule that set a negative lr',
      () => {
        const opt = new SGD([w()], 0.1);
        opt.lr = -0.5;
        opt.step();
      },
      'SGD: lr is -0.5; it must be a number >= 0',
    ],
  ])('%s', (_what, make, message) => {
    expect(make).toThrow(new Error(message));
  });
});
