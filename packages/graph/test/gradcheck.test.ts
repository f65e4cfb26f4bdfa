import { describe, expect, it } from 'vitest';
import { defineOp, gradcheck, kernels, Rng, tensor, wrap, type Tensor } from '../src/index.ts';
import { softplus } from '../../../examples/custom-op.ts';

const f64 = { dtype: 'float64' } as const;

// The README's custom op, from examples/custom-op.ts.
/** The same op with a deliberate slip in its backward (missing the sigmoid). */
const wrongSoftplus = defineOp('wrongSoftplus', (x: Tensor) => ({
  out: softplus.forward(x).out,
  backward: (g) => [g],
}));

describe('gradcheck', () => {
  const x = Rng.seeded(3).randn([4, 3], f64);

  it('passes a right custom op and catches a wrong one, showing where and both values', () => {
    expect(gradcheck((t, a) => t.apply(softplus, a), [x]).ok).toBe(true);
    const bad = gradcheck((t, a) => t.apply(wrongSoftplus, a), [x]);
    expect(bad.ok).toBe(false);
    const r = bad.inputs[0];
    const worst = r.worst.at as [number, number];
    expect(r.worst.analytic).not.toBeCloseTo(r.worst.numeric, 3);
    expect(bad.summary).toMatch(/^input 0 \[4,3\]: MISMATCH, 12 entries, .*worst at \[\d,\d\]: tape -?[\d.]+, numeric -?[\d.]+$/);
    expect(bad.summary).toContain(`worst at [${worst.join(',')}]`);
    // The slip drops the factor sigmoid(x): the values shown are those of the entry named.
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    expect(r.worst.numeric / r.worst.analytic).toBeCloseTo(sigmoid(x.get(...worst)), 6);
    // Through a sum (no random weighting) the error 1 - sigmoid(x) is largest at the smallest entry.
    const summed = gradcheck((t, a) => t.sum(t.apply(wrongSoftplus, a)), [x]).inputs[0];
    const flat = x.toFlatArray(),
      smallest = flat.indexOf(Math.min(...flat));
    expect(summed.worst).toEqual({ at: [Math.floor(smallest / 3), smallest % 3], analytic: 1, numeric: expect.closeTo(sigmoid(flat[smallest]), 8) });
  });

  it('catches a wrong backward in fast (directional) mode too', () => {
    const big = Rng.seeded(4).randn([40, 30], f64);
    const good = gradcheck((t, a) => t.apply(softplus, a), [big], { mode: 'fast' });
    expect(good.ok).toBe(true);
    expect(good.inputs[0]).toMatchObject({ mode: 'fast', checked: 4 });
    expect(gradcheck((t, a) => t.apply(wrongSoftplus, a), [big], { mode: 'fast' }).ok).toBe(false);
  });

  it('picks fast mode for large inputs in auto mode', () => {
    const big = Rng.seeded(5).randn([30, 30], f64);
    expect(gradcheck((t, a) => t.tanh(a), [big]).inputs[0].mode).toBe('fast');
    expect(gradcheck((t, a) => t.tanh(a), [x]).inputs[0].mode).toBe('full');
  });

  it('accepts the convention at a kink and says so: relu at 0, a hinge margin at 0, a tie in max', () => {
    const relu = gradcheck(
      (t, a) => t.relu(a),
      [
        tensor(
          [
            [0, 1],
            [-1, 0],
          ],
          f64,
        ),
      ],
    );
    expect(relu.ok).toBe(true);
    expect(relu.inputs[0].kinks).toBe(2);
    expect(relu.summary).toContain('2 at a kink, accepted between the one-sided differences');
    // Margin of class 2 against label 0 is 0 - 1 + 1 = 0 exactly.
    const hinge = gradcheck((t, s) => t.hingeLoss(s, [0]), [tensor([[1, -3, 0]], f64)]);
    expect(hinge.ok).toBe(true);
    expect(hinge.inputs[0].kinks).toBe(2); // s_0 and s_2 see the kink
    const max = gradcheck((t, a) => t.max(a, 1), [tensor([[2, 2, 1]], f64)]);
    expect(max.ok).toBe(true);
    expect(max.inputs[0].kinks).toBe(2);
  });

  it('does not accept a value outside the one-sided differences at a kink', () => {
    const twiceRelu = defineOp('twiceRelu', (a: Tensor) => ({
      out: wrap(kernels.map(a.array, (v) => Math.max(v, 0))),
      backward: (g) => [wrap(kernels.zip(g.array, a.array, a.shape, (gv, v) => (v >= 0 ? 2 * gv : 0)))],
    }));
    expect(gradcheck((t, a) => t.apply(twiceRelu, a), [tensor([0, 1], f64)]).ok).toBe(false);
  });

  it('refuses float32 with an explanation', () => {
    expect(() => gradcheck((t, a) => t.tanh(a), [tensor([1, 2])])).toThrow(
      /gradcheck: input 0 is float32: finite differences need float64 \(float32 keeps ~7 digits.*create it with \{ dtype: 'float64' \}/,
    );
  });
});
