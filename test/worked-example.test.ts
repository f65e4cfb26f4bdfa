// The paper's worked example (Figures 3-4), three ways: the graph's tape, the derivation checker, and by hand.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tape, tensor } from '@backprop/graph';
import { checkSource } from '../packages/cli/src/check/evaluate.ts';

const f64 = (v: number) => tensor(v, { dtype: 'float64', requiresGrad: true });

describe('the paper\'s two gradient updates', () => {
  it('on the tape: dl/dw5 and dl/dw6 match Figure 3, the updates Figure 4', () => {
    const [I1, I2, w1, w2, w3, w4, w5, w6, b1, b2, y] = [0.05, 0.25, 0.25, 0.6, 0.75, 0.35, 0.55, 0.65, 0.45, 0.65, 0.01].map(f64);
    const t = new Tape();
    const H1 = t.sigmoid(t.add(t.add(t.mul(I1, w1), b1), t.mul(I2, w3)));
    const H2 = t.sigmoid(t.add(t.mul(I1, w2), t.mul(I2, w4)));
    const o = t.sigmoid(t.add(t.add(b2, t.mul(H1, w5)), t.mul(H2, w6)));
    const l = t.squaredError(o, y);
    const [d5, d6] = t.gradients(l, [w5, w6]).map((g) => g.item());
    // Figure 3 rounds as it goes (0.6570, 0.5293, 0.79501, ...): agreement to its precision.
    expect(d5).toBeCloseTo(0.168103, 5);
    expect(d6).toBeCloseTo(0.13543, 4);
    expect(0.55 - 0.5 * d5).toBeCloseTo(0.4659485, 5);
    expect(0.65 - 0.5 * d6).toBeCloseTo(0.582285, 5);
  });
  it('in the derivation checker, the same exact values', () => {
    const src = readFileSync(fileURLToPath(new URL('../examples/paper-worked-example.txt', import.meta.url)), 'utf8');
    const { derivation } = checkSource(src);
    expect(derivation.exactDeriv('l', 'w5', 0).item()).toBeCloseTo(0.16810362, 8);
    expect(derivation.values.get('new_w6')!.item()).toBeCloseTo(0.65 - 0.5 * derivation.exactDeriv('l', 'w6', 0).item(), 15);
  });
});
