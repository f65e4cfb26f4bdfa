// The backward panel's pass (src/backward/pass.ts): the steps from the loss back to the inputs add up
// to the tape's gradients, the paper's Figures 3-4 come out as the paper prints them, and a network of
// the user's choice gets the hand-derived gradients (mlp's hand.ts) from the tape.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { activationNames, lossNames } from '@backprop/mlp/core';
import { gradientsAfter, parseSetup, recordPass } from '../src/backward/pass.ts';

describe("the backward panel's pass", () => {
  it("gives the paper's Figures 3-4: l, dl/dw5 and dl/dw6 as the checker computes them (0.16810362, 0.135438)", () => {
    const pass = recordPass(parseSetup(''));
    expect(pass.loss.item()).toBeCloseTo((0.79501555 - 0.01) ** 2, 7);
    const w2 = pass.compared.find((c) => c.name === 'W2')!;
    const [w5, w6] = w2.tape.toFlatArray();
    expect(w5).toBeCloseTo(0.16810362, 8);
    expect(w6).toBeCloseTo(0.135438, 6);
    expect(w2.other).toEqual([0.168103, 0.13543]);
    // From the loss back: squaredError, then o's sigmoid, then the output layer's add, ...
    expect(pass.steps.map((s) => s.record.op.name)).toEqual(['squaredError', 'sigmoid', 'add', 'matmul', 'sigmoid', 'add', 'matmul']);
    expect(pass.steps.map((s) => pass.names.get(s.record.out))).toEqual(['l', 'o', 'S', 'H1·W2', 'H1', 'H1_pre', 'X·W1']);
  });

  it('reaches each parameter at the step that passes it its gradient, and the steps add up to the tape (fast-check over networks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom(...activationNames),
        fc.constantFrom(...lossNames),
        fc.integer({ min: 1, max: 1000 }),
        (hidden, classes, activation, loss, seed) => {
          const pass = recordPass({ network: 'mlp', layers: [...hidden, classes], activation, loss, seed });
          expect(gradientsAfter(pass, 0).size).toBe(1); // only dl/dl
          const all = gradientsAfter(pass, pass.steps.length);
          for (const [i, c] of pass.compared.entries()) {
            expect(all.get(pass.params[i])).toEqual(Array.from(c.tape.toFlatArray()));
            // the hand-derived pass agrees with the tape (separate code) to float64 rounding
            c.tape.toFlatArray().forEach((g, j) => expect(Math.abs(g - c.other![j])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(g))));
          }
        },
      ),
    );
  });

  it('reads its settings from the URL, keeping the defaults for what it does not understand', () => {
    expect(parseSetup('network=mlp&layers=3,4,2&activation=relu&loss=ce&seed=5&step=3')).toEqual({
      network: 'mlp',
      layers: [3, 4, 2],
      activation: 'relu',
      loss: 'ce',
      seed: 5,
      step: 3,
    });
    expect(parseSetup('network=mlp&layers=3,400,2&activation=softsign&seed=-1')).toEqual({ ...parseSetup(''), network: 'mlp' });
  });
});
