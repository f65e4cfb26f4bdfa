import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { gradcheck, kernels, Rng, Tape, tensor, type Tensor } from '@backprop/graph';
import {
  activationNames,
  activations,
  Dense,
  handBackward,
  lossAndGradient,
  lossNames,
  lossOnTape,
  MLP,
  type ActivationName,
  type LossName,
} from '../src/index.ts';

/** A random float64 network with weights of a size that makes every activation work (He init). */
function randomCase(seed: number, hidden: number[], activation: ActivationName, batch: number, classes: number) {
  const rng = Rng.seeded(seed);
  const sizes = [1 + rng.int(6), ...hidden, classes];
  const net = MLP.init({ sizes, activation }, rng, { init: 'he', dtype: 'float64' });
  for (const l of net.layers) l.b.array.data.forEach((_, i, d) => (d[i] = 0.3 * rng.normal())); // non-zero biases too
  const X = rng.randn([batch, sizes[0]], { dtype: 'float64' });
  const y = Array.from({ length: batch }, () => rng.int(classes));
  return { net, X, y };
}

function tapeGradients(net: MLP, X: Tensor, y: number[], loss: LossName): { value: number; grads: Tensor[] } {
  const t = new Tape();
  const l = lossOnTape(t, loss, net.forward(t, X), y);
  return { value: l.item(), grads: t.gradients(l, net.parameters()) };
}

function maxRelativeError(a: Tensor, b: Tensor): number {
  const x = a.toFlatArray(),
    z = b.toFlatArray();
  const scale = Math.max(1e-12, ...z.map(Math.abs));
  return Math.max(0, ...x.map((v, i) => Math.abs(v - z[i]) / scale));
}

const arbitraryCase = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  hidden: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
  activation: fc.constantFrom(...activationNames),
  loss: fc.constantFrom(...lossNames),
  batch: fc.integer({ min: 1, max: 5 }),
  classes: fc.integer({ min: 2, max: 5 }),
});

describe('the hand-derived backward pass (§2.1) against the tape', () => {
  it('gives the same loss and gradients for random architectures, activations, losses and batches (float64, rel. error < 1e-9)', () => {
    fc.assert(
      fc.property(arbitraryCase, ({ seed, hidden, activation, loss, batch, classes }) => {
        const { net, X, y } = randomCase(seed, hidden, activation, batch, classes);
        const hand = handBackward(net, X, y, loss);
        const tape = tapeGradients(net, X, y, loss);
        expect(Math.abs(hand.loss - tape.value)).toBeLessThan(1e-12 * Math.max(1, Math.abs(tape.value)));
        hand.grads.forEach((g, i) => {
          expect(g.shape).toEqual(tape.grads[i].shape);
          expect(maxRelativeError(g, tape.grads[i])).toBeLessThan(1e-9);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('and both agree with finite differences, with few entries at a kink', () => {
    // An entry whose loss has a kink within eps (relu at 0, a hinge margin at 0) has no derivative to
    // compare: it is counted, and the count must stay small, or the comparison would be hollow.
    let entries = 0,
      handKinks = 0,
      tapeKinks = 0;
    fc.assert(
      fc.property(arbitraryCase, ({ seed, hidden, activation, loss, batch, classes }) => {
        const { net, X, y } = randomCase(seed, hidden, activation, batch, classes);
        const spec = { sizes: net.sizes, activation: net.activation };
        const report = gradcheck(
          (t, ...p) => {
            const rebuilt = new MLP(
              spec,
              net.layers.map((_, i) => new Dense(p[2 * i], p[2 * i + 1])),
            );
            return lossOnTape(t, loss, rebuilt.forward(t, X), y);
          },
          net.parameters(),
          { mode: 'full' },
        );
        if (!report.ok) throw new Error(report.summary);
        tapeKinks += report.inputs.reduce((sum, r) => sum + r.kinks, 0);
        // The hand-derived gradients against central differences of the hand-derived forward pass (no tape at all).
        const hand = handBackward(net, X, y, loss);
        const handLoss = () => handBackward(net, X, y, loss).loss;
        net.parameters().forEach((p, i) => {
          const w = p.array.data,
            g = hand.grads[i].array.data,
            eps = 1e-6;
          for (let j = 0; j < w.length; j++) {
            const orig = w[j];
            w[j] = orig + eps;
            const plus = handLoss();
            w[j] = orig - eps;
            const minus = handLoss();
            w[j] = orig;
            const base = handLoss();
            const numeric = (plus - minus) / (2 * eps);
            const kink = Math.abs(plus - base - (base - minus)) / eps > 1e-3; // the two sides differ: a kink within eps
            entries++;
            if (kink) handKinks++;
            else expect(Math.abs(g[j] - numeric)).toBeLessThan(1e-5 + 1e-3 * Math.abs(numeric));
          }
        });
      }),
      { numRuns: 30 },
    );
    // Random weights and inputs put a pre-activation or a margin within 1e-6 of 0 rarely (none in
    // runs seen so far, of ~1,300 entries): a few at most.
    expect(handKinks, `${handKinks} of ${entries} entries at a kink (hand)`).toBeLessThanOrEqual(Math.max(2, entries / 200));
    expect(tapeKinks, `${tapeKinks} of ${entries} entries at a kink (gradcheck)`).toBeLessThanOrEqual(Math.max(2, entries / 200));
  });

  it("applies g'(x) itself, from the activations table, not through a kernel the tape also uses (float32 tanh, bit for bit)", () => {
    // A batch of one: dl/db1 = (M W2ᵀ) ⊙ g'(P1) with no column sum, and M = dl/db2.
    const rng = Rng.seeded(5);
    const net = MLP.init({ sizes: [30, 400, 10], activation: 'tanh' }, rng, { init: 'xavier' });
    const X = rng.randn([1, 30]);
    const hand = handBackward(net, X, [3], 'hinge');
    const [first, second] = net.layers;
    const pre = kernels.add(kernels.matmul(X.array, first.W.array), first.b.array, [1, 400]);
    const H = kernels.tanh(pre); // the forward pass shares this kernel with the tape; the derivative must not
    const dH = kernels.matmul(ndarray(hand.grads[3].array.data, [1, 10]), second.W.array.transpose(1, 0));
    const df = activations.tanh.df;
    const want = Float32Array.from(dH.data, (d, i) => d * df(pre.data[i], H.data[i])); // one rounding, to float32
    const got = hand.grads[1].array.data;
    expect(got).toBeInstanceOf(Float32Array);
    const differing = Array.from(got).filter((v, i) => v !== want[i]).length;
    expect(differing).toBe(0);
  });

  it('uses the correct derivatives where the paper slips', () => {
    // relu at a negative pre-activation: the paper's test "output >= 0" would pass gradient; it must not.
    const W1 = new Dense(tensor64([[-1]]), tensor64([0]));
    const W2 = new Dense(tensor64([[1, 0]]), tensor64([0, 0]));
    const net = new MLP({ sizes: [1, 1, 2], activation: 'relu' }, [W1, W2]);
    const hand = handBackward(net, tensor64([[2]]), [0], 'hinge');
    expect(hand.grads[0].toFlatArray()[0] === 0).toBe(true); // dl/dW1 = 0 (or -0): the unit is off
    // hinge: a score below zero with a positive margin still gets gradient (the paper tests s_ij > 0).
    const scores = new MLP({ sizes: [1, 2], activation: 'tanh' }, [new Dense(tensor64([[-1, -0.5]]), tensor64([0, 0]))]);
    const h = handBackward(scores, tensor64([[1]]), [0], 'hinge'); // s = [-1, -0.5]: margin -0.5 + 1 + 1 = 1.5 > 0
    expect(h.loss).toBe(1.5);
    expect(h.grads[0].toArray()).toEqual([[-1, 1]]);
  });
});

function tensor64(v: number[][] | number[]): Tensor {
  return tensor(v, { dtype: 'float64', requiresGrad: true });
}

describe('the hand-derived losses propagate NaN, as the tape does', () => {
  for (const loss of lossNames) {
    it(loss, () => {
      // Row 0 holds a NaN beside a label far ahead of it (a hinge margin that would be inactive).
      const S = tensor(
        [
          [5, NaN, 0],
          [0.2, 0.1, 0.3],
        ],
        { dtype: 'float64' },
      ).array;
      const { value, M } = lossAndGradient(loss, S, [0, 2]);
      expect(value).toBeNaN();
      expect(Array.from(M.data.subarray(0, 3)).some(Number.isNaN)).toBe(true);
      expect(Array.from(M.data.subarray(3)).every(Number.isFinite)).toBe(true);
      expect(
        lossAndGradient(
          loss,
          tensor(
            [
              [5, 0, 0],
              [0.2, 0.1, 0.3],
            ],
            { dtype: 'float64' },
          ).array,
          [0, 2],
        ).value,
      ).not.toBeNaN();
    });
  }
});
