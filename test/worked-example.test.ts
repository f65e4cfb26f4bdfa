// The paper's worked example (Figures 3-4), three ways: by hand (the chain rule in plain arithmetic),
// on the graph's tape with an SGD step, and in the derivation checker reading examples/.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tape, tensor } from '@backprop/graph';
import { SGD } from '@backprop/mlp';
import { checkSource } from '@backprop/mlp/check';

const given = { I1: 0.05, I2: 0.25, w1: 0.25, w2: 0.6, w3: 0.75, w4: 0.35, w5: 0.55, w6: 0.65, b1: 0.45, b2: 0.65, y: 0.01, eta: 0.5 };
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The oracle: Figure 3's forward pass and chain rule, written out with numbers only (no tape, no parser). */
function byHand() {
  const { I1, I2, w1, w2, w3, w4, w5, w6, b1, b2, y, eta } = given;
  const H1 = sigmoid(I1 * w1 + b1 + I2 * w3),
    H2 = sigmoid(I1 * w2 + I2 * w4);
  const o = sigmoid(b2 + H1 * w5 + H2 * w6);
  const dlDoPre = 2 * (o - y) * o * (1 - o); // dl/do · sigmoid'(o') = dl/do · o (1 - o)
  const d5 = dlDoPre * H1,
    d6 = dlDoPre * H2;
  return { d5, d6, w5: w5 - eta * d5, w6: w6 - eta * d6 };
}
const hand = byHand();

describe("the paper's two gradient updates", () => {
  it("by hand: dl/dw5 and dl/dw6 are Figure 3's, the updates Figure 4's, to the figures' precision", () => {
    // Figure 3 rounds as it goes (0.6570, 0.5293, 0.79501, ...), so the last digits may differ.
    expect(hand.d5).toBeCloseTo(0.168103, 5);
    expect(hand.d6).toBeCloseTo(0.13543, 4);
    expect(hand.w5).toBeCloseTo(0.4659485, 5);
    expect(hand.w6).toBeCloseTo(0.582285, 5);
  });

  it('on the tape, then one SGD step at eta = 0.5: the same numbers as by hand', () => {
    const v = Object.fromEntries(Object.entries(given).map(([k, x]) => [k, tensor(x, { dtype: 'float64', requiresGrad: true })]));
    const t = new Tape();
    const H1 = t.sigmoid(t.add(t.add(t.mul(v.I1, v.w1), v.b1), t.mul(v.I2, v.w3)));
    const H2 = t.sigmoid(t.add(t.mul(v.I1, v.w2), t.mul(v.I2, v.w4)));
    const o = t.sigmoid(t.add(t.add(v.b2, t.mul(H1, v.w5)), t.mul(H2, v.w6)));
    t.backward(t.squaredError(o, v.y));
    expect(v.w5.grad!.item()).toBeCloseTo(hand.d5, 15);
    expect(v.w6.grad!.item()).toBeCloseTo(hand.d6, 15);
    new SGD([v.w5, v.w6], given.eta).step();
    expect(v.w5.item()).toBeCloseTo(hand.w5, 15);
    expect(v.w6.item()).toBeCloseTo(hand.w6, 15);
  });

  it('in the derivation checker, from the text of examples/paper-worked-example.txt: the same numbers as by hand', () => {
    const src = readFileSync(fileURLToPath(new URL('../examples/paper-worked-example.txt', import.meta.url)), 'utf8');
    const { derivation } = checkSource(src);
    expect(derivation.exactDeriv('l', 'w5', 0).item()).toBeCloseTo(hand.d5, 15);
    expect(derivation.exactDeriv('l', 'w6', 0).item()).toBeCloseTo(hand.d6, 15);
    expect(derivation.values.get('new_w5')!.item()).toBeCloseTo(hand.w5, 15);
    expect(derivation.values.get('new_w6')!.item()).toBeCloseTo(hand.w6, 15);
  });
});
