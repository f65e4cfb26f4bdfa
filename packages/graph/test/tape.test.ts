import { describe, expect, it } from 'vitest';
import { defineOp, kernels, ops, Tape, tensor, wrap, type Gradients, type Tensor } from '../src/index.ts';

const f64 = { dtype: 'float64' } as const;

describe('Tape', () => {
  it('accumulates the gradient of a tensor used twice (fan-out)', () => {
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const t = new Tape();
    // l = sum(x * x + 3 x): dl/dx = 2x + 3, through three uses of x
    const l = t.sum(t.add(t.mul(x, x), t.scale(x, 3)));
    t.backward(l);
    expect(x.grad!.toArray()).toEqual([5, 7, 9]);
  });

  it('replaces .grad on each backward (no hidden accumulation across steps)', () => {
    const x = tensor([2], { ...f64, requiresGrad: true });
    for (let i = 0; i < 2; i++) {
      const t = new Tape();
      t.backward(t.sum(t.square(x)));
    }
    expect(x.grad!.toArray()).toEqual([4]);
  });

  it('records nothing in noRecord, and its outputs are constants', () => {
    const w = tensor([[1, 2]], { ...f64, requiresGrad: true });
    const t = new Tape();
    const y = t.noRecord(() => t.tanh(w));
    expect(t.records.length).toBe(0);
    expect(y.requiresGrad).toBe(false);
    expect(t.tanh(w).requiresGrad).toBe(true);
    expect(t.records.length).toBe(1);
  });

  it('stops gradients at a detached tensor', () => {
    const x = tensor([3], { ...f64, requiresGrad: true });
    const t = new Tape();
    const y = t.square(x);
    const l = t.sum(t.mul(y, y.detach())); // d/dx (y * const) = 2x * const = 6 * 9
    t.backward(l);
    expect(x.grad!.toArray()).toEqual([54]);
  });

  it('keeps two tapes independent', () => {
    const x = tensor([1.5], { ...f64, requiresGrad: true });
    const a = new Tape(),
      b = new Tape();
    const la = a.sum(a.square(x));
    const lb = b.sum(b.scale(x, 7));
    expect(a.records.map((r) => r.op.name)).toEqual(['square', 'sum']);
    expect(b.records.map((r) => r.op.name)).toEqual(['scale', 'sum']);
    expect(b.gradients(lb, [x])[0].toArray()).toEqual([7]);
    expect(a.gradients(la, [x])[0].toArray()).toEqual([3]);
  });

  it('takes an explicit upstream gradient for a non-scalar output, and demands one', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { ...f64, requiresGrad: true },
    );
    const t = new Tape();
    const y = t.scale(x, 2);
    expect(() => t.backward(y)).toThrow('backward: the output has shape [2,2], not one element: pass the upstream gradient as { grad }');
    expect(() => t.backward(y, { grad: tensor([1, 2], f64) })).toThrow('backward: the upstream gradient has shape [2] but the output has [2,2]');
    t.backward(y, {
      grad: tensor(
        [
          [1, 0],
          [0, -1],
        ],
        f64,
      ),
    });
    expect(x.grad!.toArray()).toEqual([
      [2, 0],
      [0, -2],
    ]);
  });

  it('gives gradients of intermediates, and zeros where the output does not depend', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const unused = tensor([5], { ...f64, requiresGrad: true });
    const t = new Tape();
    const h = t.scale(x, 3);
    const l = t.sum(t.square(h));
    const [dh, dx, du] = t.gradients(l, [h, x, unused]);
    expect(dh.toArray()).toEqual([6, 12]);
    expect(dx.toArray()).toEqual([18, 36]);
    expect(du.toArray()).toEqual([0]);
  });
});

describe('an argument that is an array of tensors', () => {
  // Σ_i c_i x_i for tensors x_i of one shape: a user's op over a list, with a backward per element.
  const weighted = defineOp('weighted', (xs: readonly Tensor[], c: readonly number[]) => {
    const out = xs.reduce((acc, x, i) => kernels.zip(acc, x.array, x.shape, (a, b) => a + c[i] * b), kernels.empty(xs[0].dtype, xs[0].shape));
    return { out: wrap(out), backward: (g, _needs, t): Gradients => [xs.map((_, i) => t.scale(g, c[i])), null] };
  });

  it('is tracked element by element: each gets its gradient, a tensor listed twice gets both', () => {
    const a = tensor([1, 2], { ...f64, requiresGrad: true }),
      b = tensor([3, 4], { ...f64, requiresGrad: true }),
      k = tensor([5, 6], f64);
    const t = new Tape();
    const y = t.apply(weighted, [a, k, b, a], [2, 3, 5, 7]);
    expect(y.requiresGrad).toBe(true);
    expect(y.toArray()).toEqual([2 + 15 + 15 + 7, 4 + 18 + 20 + 14]);
    const [da, db, dk] = t.gradients(t.sum(y), [a, b, k]);
    expect(da.toArray()).toEqual([9, 9]);
    expect(db.toArray()).toEqual([5, 5]);
    expect(dk.toArray()).toEqual([0, 0]); // a constant in the list gets nothing
  });

  it('is not recorded when no tensor in it requires a gradient', () => {
    const t = new Tape();
    expect(t.apply(weighted, [tensor([1], f64)], [1]).requiresGrad).toBe(false);
    expect(t.records).toHaveLength(0);
  });

  it('differentiates again with createGraph', () => {
    const x = tensor([1.5, -2], { ...f64, requiresGrad: true });
    const t = new Tape();
    const y = t.sum(t.square(t.apply(weighted, [x, t.square(x)], [1, 1]))); // Σ (x + x²)²
    const [g] = t.gradients(y, [x], { createGraph: true }); // 2 (x + x²)(1 + 2x)
    expect(g.toArray()).toEqual([30, -12]);
    const [h] = t.gradients(t.sum(g), [x]); // 2 (1 + 2x)² + 4 (x + x²)
    expect(h.toArray()).toEqual([47, 26]);
  });

  it('a backward that leaves out an element needing a gradient, or gives one of the wrong shape, names it', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const missing = defineOp('missing', (xs: readonly Tensor[]) => ({ out: wrap(xs[0].array), backward: (g): Gradients => [[g]] }));
    const t = new Tape();
    expect(() => t.backward(t.sum(t.apply(missing, [x, x])))).toThrow('missing: backward returned no gradient for input 0[1], which requires one');
    const wrong = defineOp('wrong', (xs: readonly Tensor[]) => ({ out: wrap(xs[0].array), backward: (): Gradients => [[tensor([1], f64)]] }));
    expect(() => t.backward(t.sum(t.apply(wrong, [x])))).toThrow('wrong: gradient for input 0[0] has shape [1] but the input has shape [2]');
  });
});

describe('errors name the op, the shapes and what disagrees', () => {
  const t = new Tape();
  it('matmul', () => {
    expect(() => t.matmul(tensor(new Float32Array(8 * 784), { shape: [8, 784] }), tensor(new Float32Array(800 * 100), { shape: [800, 100] }))).toThrow(
      'matmul: cannot multiply [8,784] by [800,100]: 784 != 800',
    );
    expect(() => t.matmul(tensor([1, 2]), tensor([[1], [2]]))).toThrow(
      'matmul: the left operand has shape [2], not [..., rows, columns]; reshape a vector to [1, n] or [n, 1]',
    );
  });
  it('broadcasting', () => {
    expect(() => t.add(tensor([[1, 2, 3]]), tensor([1, 2]))).toThrow('add: cannot broadcast [1,3] with [2]: 3 != 2');
  });
  it('dtypes', () => {
    expect(() => t.mul(tensor([1]), tensor([1], f64))).toThrow("mul: cannot mix float32 and float64; convert one with .clone('float32')");
  });
  it('labels', () => {
    expect(() => t.hingeLoss(tensor([[1, 2]]), [2])).toThrow('hingeLoss: label 2 at row 0 is not a class index in [0, 2)');
    expect(() => t.crossEntropy(tensor([[1, 2]]), [0, 1])).toThrow('crossEntropy: 2 labels for 1 rows of scores [1,2]');
  });
  it('axes', () => {
    expect(() => t.sum(tensor([[1]]), 2)).toThrow('sum: axis 2 is out of range for shape [1,1]');
  });
  it('a gradient of the wrong shape names the op and the input', () => {
    const bad = defineOp('bad', (x: typeof y) => ({ out: wrap(x.array), backward: () => [tensor([1, 2, 3])] }));
    const y = tensor([[1, 2]], { requiresGrad: true });
    const tape = new Tape();
    const out = tape.apply(bad, y);
    expect(() => tape.backward(tape.sum(out))).toThrow('bad: gradient for input 0 has shape [3] but the input has shape [1,2]');
  });
  it('a non-finite value says where', () => {
    const checked = new Tape({ checkFinite: true });
    expect(() =>
      checked.log(
        tensor([
          [1, 2],
          [0, 3],
        ]),
      ),
    ).toThrow('log: output has a non-finite value (-Infinity) at [1,0]');
    const plain = new Tape();
    const l = plain.sum(plain.log(tensor([-1], { requiresGrad: true })));
    expect(() => plain.backward(l)).toThrow('backward: the output is NaN; create the tape with { checkFinite: true } to find the op that made it');
  });
  it('built-in ops are the same objects a user can apply', () => {
    const tape = new Tape();
    expect(tape.apply(ops.tanh, tensor([0])).toArray()).toEqual([0]);
  });
});
