import { describe, expect, it } from 'vitest';
import { addScaledRows, kernels, RowSparseTensor, Tape, tensor, updateRunningStats, type Tensor } from '../src/index.ts';

const param = (values: number[][], name?: string) => tensor(values, { requiresGrad: true, dtype: 'float64', name });

describe('version counters: backward refuses a saved tensor changed in place', () => {
  it('the probe of issue 22: mul(W, W), an in-place write to W, then backward, is an error naming the op, W and both versions', () => {
    const W = param(
      [
        [1.5, -0.2],
        [0.7, 1.1],
      ],
      'W',
    );
    const t = new Tape();
    const loss = t.sum(t.mul(W, W));
    W.update((a) => void (a.data[0] += 10));
    expect(() => t.backward(loss)).toThrow(
      /^backward: mul saved 'W' \[2,2\] at version 0, but it was modified in place since \(now version 1\); call backward before changing it/,
    );
  });

  it('without the write, the same tape gives 2W', () => {
    const W = param(
      [
        [1.5, -0.2],
        [0.7, 1.1],
      ],
      'W',
    );
    const t = new Tape();
    t.backward(t.sum(t.mul(W, W)));
    expect(W.grad!.toArray()).toEqual([
      [3, -0.4],
      [1.4, 2.2],
    ]);
  });

  it('assign bumps the version and copies the values; an unnamed tensor is named by its shape and maker', () => {
    const W = param([
      [1, 2],
      [3, 4],
    ]);
    const x = tensor(
      [
        [1, 0],
        [0, 1],
      ],
      { dtype: 'float64' },
    );
    const t = new Tape();
    const loss = t.sum(t.matmul(x, W));
    expect(W.version).toBe(0);
    W.assign([
      [5, 6],
      [7, 8],
    ]);
    expect(W.version).toBe(1);
    expect(W.toArray()).toEqual([
      [5, 6],
      [7, 8],
    ]);
    expect(() => t.backward(loss)).toThrow(
      /^backward: matmul saved the \[2,2\] float64 tensor made by tensor at version 0, but it was modified in place since \(now version 1\)/,
    );
  });

  it('a write through one view is seen through every other (they share the counter)', () => {
    const W = param(
      [
        [1, 2],
        [3, 4],
      ],
      'W',
    );
    const x = param([[1, -1]]);
    const t = new Tape();
    const loss = t.sum(t.matmul(x, t.transpose(W)));
    W.assign([
      [0, 0],
      [0, 0],
    ]);
    expect(() => t.backward(loss)).toThrow(
      /^backward: matmul saved the \[2,2\] float64 tensor made by transpose at version 0, but it was modified in place since \(now version 1\)/,
    );
    expect(W.detach().version).toBe(1);
  });

  it('an op that reads only shapes (add) saves nothing; one that reads its output (exp) saves it', () => {
    const a = param([[1, 2]]),
      b = param([[3, 4]]);
    const t = new Tape();
    const sum = t.add(a, b);
    b.assign([[0, 0]]);
    expect(() => t.backward(t.sum(sum))).not.toThrow();
    const t2 = new Tape();
    const y = t2.exp(a);
    const loss = t2.sum(y);
    y.update((v) => void v.data.fill(0));
    expect(() => t2.backward(loss)).toThrow(
      /^backward: exp saved the \[1,2\] float64 tensor made by exp at version 0, but it was modified in place since \(now version 1\)/,
    );
  });

  it('assign names both shapes when they differ', () => {
    const W = param([[1, 2]], 'W');
    expect(() => W.assign([1, 2, 3])).toThrow(/^assign: the values have shape \[3\] but the tensor 'W' has shape \[1,2\]$/);
    expect(W.version).toBe(0);
  });

  it('the in-place helpers of graph bump: addScaledRows, updateRunningStats', () => {
    const w = tensor(new Float32Array(64), { shape: [2, 32], requiresGrad: true });
    const g = new RowSparseTensor(kernels.reshape(tensor(new Float32Array(64).fill(1)).array, [2, 32]), Int32Array.from([1]));
    expect(addScaledRows(w, g, -0.5)).toBe(true);
    expect(w.version).toBe(1);
    const running = { mean: tensor([0, 0]), var: tensor([1, 1]) };
    updateRunningStats(running, { mean: tensor([1, 2]), var: tensor([1, 1]), count: 4 }, 0.1);
    expect([running.mean.version, running.var.version]).toEqual([1, 1]);
  });

  it("a tensor over a user's own typed array shares its counter with its views too", () => {
    const W = tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2], requiresGrad: true });
    const view = W.detach();
    W.assign([
      [0, 0],
      [0, 0],
    ]);
    expect([W.version, view.version]).toEqual([1, 1]);
  });

  it('a raw write into .array.data is not seen (documented): the version stays', () => {
    const W: Tensor = param([[1]]);
    W.array.data[0] = 2;
    expect(W.version).toBe(0);
  });
});
