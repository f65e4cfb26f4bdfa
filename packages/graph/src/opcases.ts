/** Example inputs for checking every built-in op with gradcheck. */
import { Rng } from './random.ts';
import type { Tape } from './tape.ts';
import type { Tensor } from './tensor.ts';

const f64 = { dtype: 'float64' } as const;

/** Random float64 values in [-2, 2], and helpers that keep inputs off kinks and poles. */
function maker(seed: number) {
  const rng = Rng.seeded(seed);
  const values = (shape: number[], draw = () => 4 * rng.uniform() - 2) => rng.tensor(shape, draw, f64);
  return {
    rng,
    values,
    /** |x| in [0.05, 2]: off the kink at 0 of relu/elu, at least eps * 1e4 away. */
    offZero: (shape: number[]) => values(shape, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.05 + 1.95 * rng.uniform())),
    positive: (shape: number[]) => values(shape, () => 0.2 + 2 * rng.uniform()),
    labels: (n: number, c: number) => Array.from({ length: n }, () => rng.int(c)),
  };
}

/** Values 0.1 apart in random order, jittered by under 0.01: no window of a max holds a near tie. */
function distinct(seed: number, shape: number[]): Tensor {
  const rng = Rng.seeded(seed),
    size = shape.reduce((a, b) => a * b, 1);
  const order = rng.shuffle(Float64Array.from({ length: size }, (_, i) => i - size / 2));
  let i = 0;
  return rng.tensor(shape, (r) => 0.1 * order[i++] + 0.01 * r.uniform(), f64);
}

/** Inputs for one op on [m, n]-ish shapes drawn from `seed`, and the function of them to check. */
export type OpCase = (m: number, n: number, seed: number) => { inputs: Tensor[]; fn: (t: Tape, ...xs: Tensor[]) => Tensor };

/**
 * One or more checkable uses of every built-in op (named `op` or `op, variant`), with float64
 * inputs kept off kinks and poles: what `backprop gradcheck --op` and the property tests run.
 */
export const opCases: Record<string, OpCase> = {
  matmul: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, 3]), r.values([3, n])], fn: (t, a, b) => t.matmul(a, b) };
  },
  'matmul, transposed views': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([3, m]), r.values([n, 3])], fn: (t, a, b) => t.matmul(t.transpose(a), t.transpose(b)) };
  },
  'matmul, batched with broadcast leading axes': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([2, 1, m, 3]), r.values([3, 3, n])], fn: (t, a, b) => t.matmul(a, b) };
  },
  transpose: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.transpose(a) }),
  'transpose, given axes': (m, n, s) => ({ inputs: [maker(s).values([m, 2, n])], fn: (t, a) => t.transpose(a, [1, 2, 0]) }),
  'einsum, matrix product': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, 3]), r.values([3, n])], fn: (t, a, b) => t.einsum('ij,jk->ik', a, b) };
  },
  'einsum, batched product': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([2, m, 3]), r.values([2, 3, n])], fn: (t, a, b) => t.einsum('bij,bjk->bik', a, b) };
  },
  'einsum, batched product with the right transposed': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([2, m, 3]), r.values([2, n, 3])], fn: (t, a, b) => t.einsum('bij,bkj->bik', a, b) };
  },
  'einsum, transpose': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.einsum('ij->ji', a) }),
  'einsum, diagonal': (m, _n, s) => ({ inputs: [maker(s).values([m, m])], fn: (t, a) => t.einsum('ii->i', a) }),
  'einsum, trace (implicit output)': (m, _n, s) => ({ inputs: [maker(s).values([m, m])], fn: (t, a) => t.einsum('ii', a) }),
  'einsum, column sums': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.einsum('ij->j', a) }),
  'einsum, outer product': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m]), r.values([n])], fn: (t, a, b) => t.einsum('i,j->ij', a, b) };
  },
  'einsum, three operands': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, 2]), r.values([2, 3]), r.values([3, n])], fn: (t, a, b, c) => t.einsum('ij,jk,kl->il', a, b, c) };
  },
  'add, same shape': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, a, b) => t.add(a, b) };
  },
  'add, row-vector bias': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([n])], fn: (t, a, b) => t.add(a, b) };
  },
  'add, 0-D scalar': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([])], fn: (t, a, b) => t.add(a, b) };
  },
  'sub, column and row': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, 1]), r.values([1, n])], fn: (t, a, b) => t.sub(a, b) };
  },
  'mul, bias': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([1, n])], fn: (t, a, b) => t.mul(a, b) };
  },
  div: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.positive([n])], fn: (t, a, b) => t.div(a, b) };
  },
  maximum: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([n])], fn: (t, a, b) => t.maximum(a, b) };
  },
  minimum: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, a, b) => t.minimum(a, b) };
  },
  sqrt: (m, n, s) => ({ inputs: [maker(s).positive([m, n])], fn: (t, a) => t.sqrt(a) }),
  abs: (m, n, s) => ({ inputs: [maker(s).offZero([m, n])], fn: (t, a) => t.abs(a) }),
  neg: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.neg(a) }),
  scale: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.scale(a, -1.7) }),
  square: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.square(a) }),
  pow: (m, n, s) => ({ inputs: [maker(s).positive([m, n])], fn: (t, a) => t.pow(a, 2.5) }),
  exp: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.exp(a) }),
  log: (m, n, s) => ({ inputs: [maker(s).positive([m, n])], fn: (t, a) => t.log(a) }),
  relu: (m, n, s) => ({ inputs: [maker(s).offZero([m, n])], fn: (t, a) => t.relu(a) }),
  elu: (m, n, s) => ({ inputs: [maker(s).offZero([m, n])], fn: (t, a) => t.elu(a, 0.7) }),
  tanh: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.tanh(a) }),
  sigmoid: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.sigmoid(a) }),
  sum: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.sum(a) }),
  'sum, along axis 0': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.sum(a, 0) }),
  mean: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.mean(a) }),
  'mean, along axis -1': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.mean(a, -1) }),
  'max, along axis 1': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.max(a, 1) }),
  'max, axis 0 of a 3-D tensor': (m, n, s) => ({ inputs: [maker(s).values([m, n, 2])], fn: (t, a) => t.max(a, 0) }),
  softmax: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.softmax(a) }),
  logSoftmax: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.logSoftmax(a) }),
  pick: (m, n, s) => {
    const r = maker(s);
    const y = r.labels(m, n);
    return { inputs: [r.values([m, n])], fn: (t, a) => t.pick(a, y) };
  },
  hingeLoss: (m, n, s) => {
    const r = maker(s);
    const y = r.labels(m, n + 1);
    return { inputs: [r.values([m, n + 1])], fn: (t, a) => t.hingeLoss(a, y) };
  },
  crossEntropy: (m, n, s) => {
    const r = maker(s);
    const y = r.labels(m, n);
    return { inputs: [r.values([m, n])], fn: (t, a) => t.crossEntropy(a, y) };
  },
  reshape: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.reshape(a, [n, 1, m]) }),
  broadcastTo: (m, n, s) => ({ inputs: [maker(s).values([1, n])], fn: (t, a) => t.broadcastTo(a, [2, m, n]) }),
  sumToShape: (m, n, s) => ({ inputs: [maker(s).values([2, m, n])], fn: (t, a) => t.sumToShape(a, [m, 1]) }),
  tanhBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, g, y) => t.tanhBackward(g, y) };
  },
  reluBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.offZero([m, n])], fn: (t, g, x) => t.reluBackward(g, x) };
  },
  sigmoidBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, g, y) => t.sigmoidBackward(g, y) };
  },
  softmaxBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, g, y) => t.softmaxBackward(g, y) };
  },
  logSoftmaxBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, g, y) => t.logSoftmaxBackward(g, y) };
  },
  scatterPick: (m, n, s) => {
    const r = maker(s);
    const y = r.labels(m, n);
    return { inputs: [r.values([m])], fn: (t, g) => t.scatterPick(g, y, n) };
  },
  squaredError: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, p, q) => t.squaredError(p, q) };
  },
  mseLoss: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n, 2]), r.values([m, n, 2])], fn: (t, p, q) => t.mseLoss(p, q) };
  },
  flatten: (m, n, s) => ({ inputs: [maker(s).values([2, m, n, 2])], fn: (t, a) => t.flatten(a) }),
  'flatten, from axis 2': (m, n, s) => ({ inputs: [maker(s).values([m, 2, n, 2])], fn: (t, a) => t.flatten(a, 2) }),
  concat: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, 2]), r.values([m, 1])], fn: (t, a, b, c) => t.concat([a, b, c], 1) };
  },
  'concat, axis 0 with an input used twice': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([1, n])], fn: (t, a, b) => t.concat([a, b, a], 0) };
  },
  stack: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, a, b) => t.stack([a, b], 1) };
  },
  narrow: (m, n, s) => ({ inputs: [maker(s).values([m, n + 2])], fn: (t, a) => t.narrow(a, 1, 1, n) }),
  'narrow, axis 0 of a 3-D tensor': (m, n, s) => ({ inputs: [maker(s).values([m + 1, n, 2])], fn: (t, a) => t.narrow(a, 0, 1, m) }),
  pad: (m, n, s) => ({
    inputs: [maker(s).values([m, n])],
    fn: (t, a) =>
      t.pad(
        a,
        [
          [1, 0],
          [2, 1],
        ],
        0.5,
      ),
  }),
  gather: (m, n, s) => {
    const r = maker(s);
    const i = r.labels(m + 2, n + 1);
    return { inputs: [r.values([n + 1, 3])], fn: (t, a) => t.gather(a, i) };
  },
  scatterAdd: (m, n, s) => {
    const r = maker(s);
    const i = r.labels(m, n);
    return { inputs: [r.values([m, 2])], fn: (t, g) => t.scatterAdd(g, i, n) };
  },
  where: (m, n, s) => {
    const r = maker(s),
      mask = r.values([m, n], () => (r.rng.uniform() < 0.5 ? 0 : 1));
    return { inputs: [r.values([m, n]), r.values([n])], fn: (t, a, b) => t.where(mask, a, b) };
  },
  'where, a column mask and a number': (m, n, s) => {
    const r = maker(s),
      mask = r.values([m, 1], () => (r.rng.uniform() < 0.5 ? 0 : 1));
    return { inputs: [r.values([m, n])], fn: (t, a) => t.where(mask, 0.5, a) };
  },
  dropout: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.dropout(a, 0.4, Rng.seeded(s), true) }),
  'dropout, evaluation': (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.dropout(a, 0.4, null, false) }),
  layerNorm: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n + 1]), r.values([n + 1]), r.values([n + 1])], fn: (t, x, g, b) => t.layerNorm(x, g, b) };
  },
  'layerNorm, 3-D without gain or bias': (m, n, s) => ({ inputs: [maker(s).values([2, m, n + 1])], fn: (t, x) => t.layerNorm(x) }),
  batchNorm: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m + 1, n, 2]), r.values([n]), r.values([n])], fn: (t, x, g, b) => t.batchNorm(x, g, b, { training: true }) };
  },
  'batchNorm, [N, C] without a gain': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m + 1, n]), r.values([n])], fn: (t, x, b) => t.batchNorm(x, null, b, { training: true }) };
  },
  'batchNorm, evaluation': (m, n, s) => {
    const r = maker(s),
      running = { mean: r.values([n]), var: r.positive([n]) };
    return { inputs: [r.values([m, n, 2]), r.values([n]), r.values([n])], fn: (t, x, g, b) => t.batchNorm(x, g, b, { training: false, running }) };
  },
  'standardize, over rows': (m, n, s) => ({ inputs: [maker(s).values([m, n + 1])], fn: (t, x) => t.standardize(x, [m, 1]) }),
  'standardize, over channels of a 4-D tensor': (m, n, s) => ({
    inputs: [maker(s).values([m + 1, n, 2, 1])],
    fn: (t, x) => t.standardize(x, [1, n, 1, 1], 1e-3),
  }),
  standardizeBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n + 1]), r.values([m, n + 1])], fn: (t, u, x) => t.standardizeBackward(u, x, [m, 1]) };
  },
  'standardizeBackward, over channels': (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m + 1, n, 2]), r.values([m + 1, n, 2])], fn: (t, u, x) => t.standardizeBackward(u, x, [1, n, 1]) };
  },
  logSumExp: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.logSumExp(a, 0) }),
  'logSumExp, last axis of a 3-D tensor': (m, n, s) => ({ inputs: [maker(s).values([m, 2, n])], fn: (t, a) => t.logSumExp(a) }),
  softplus: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.softplus(a) }),
  gelu: (m, n, s) => ({ inputs: [maker(s).values([m, n])], fn: (t, a) => t.gelu(a) }),
  geluBackward: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([m, n]), r.values([m, n])], fn: (t, g, x) => t.geluBackward(g, x) };
  },
  leakyRelu: (m, n, s) => ({ inputs: [maker(s).offZero([m, n])], fn: (t, a) => t.leakyRelu(a, 0.1) }),
  // convolution and pooling (NCHW): small images whose size follows m and n
  conv2d: (m, n, s) => {
    const r = maker(s);
    return { inputs: [r.values([2, 2, m + 2, n + 2]), r.values([3, 2, 2, 2])], fn: (t, x, w) => t.conv2d(x, w) };
  },
  'conv2d, stride, padding and a bias': (m, n, s) => {
    const r = maker(s);
    return {
      inputs: [r.values([2, 2, m + 3, n + 3]), r.values([3, 2, 3, 2]), r.values([3])],
      fn: (t, x, w, b) => t.conv2d(x, w, { stride: [2, 1], padding: [1, 2] }, b),
    };
  },
  'conv2d, dilation and groups': (m, n, s) => {
    const r = maker(s);
    return {
      inputs: [r.values([1, 4, m + 4, n + 4]), r.values([4, 2, 2, 3])],
      fn: (t, x, w) => t.conv2d(x, w, { stride: [1, 2], padding: 1, dilation: [2, 1], groups: 2 }),
    };
  },
  conv2dBackwardInput: (m, n, s) => {
    const r = maker(s),
      options = { stride: 2, padding: 1 },
      oh = Math.floor((m + 2) / 2) + 1,
      ow = Math.floor((n + 2) / 2) + 1;
    return { inputs: [r.values([2, 3, oh, ow]), r.values([3, 2, 3, 3])], fn: (t, g, w) => t.conv2dBackwardInput(g, w, [2, 2, m + 3, n + 3], options) };
  },
  conv2dBackwardWeight: (m, n, s) => {
    const r = maker(s),
      options = { padding: 1, groups: 2 };
    return { inputs: [r.values([2, 4, m + 1, n + 1]), r.values([2, 2, m + 1, n + 1])], fn: (t, x, g) => t.conv2dBackwardWeight(x, g, [2, 2, 3, 3], options) };
  },
  maxPool2d: (m, n, s) => ({ inputs: [distinct(s, [2, 2, 2 * m, 2 * n + 1])], fn: (t, x) => t.maxPool2d(x, 2) }),
  'maxPool2d, overlapping windows and padding': (m, n, s) => ({
    inputs: [distinct(s, [1, 2, m + 2, n + 2])],
    fn: (t, x) => t.maxPool2d(x, 3, { stride: [2, 1], padding: 1 }),
  }),
  maxPool2dBackward: (m, n, s) => {
    const r = maker(s),
      at = Int32Array.from({ length: 2 * m * n }, () => r.rng.int(4 * m * n));
    return { inputs: [r.values([1, 2, m, n])], fn: (t, g) => t.maxPool2dBackward(g, at, [1, 2, 2 * m, 2 * n]) };
  },
  maxPool2dPick: (m, n, s) => {
    const r = maker(s),
      at = Int32Array.from({ length: 2 * m * n }, () => r.rng.int(4 * m * n));
    return { inputs: [r.values([1, 2, 2 * m, 2 * n])], fn: (t, h) => t.maxPool2dPick(h, at, [1, 2, m, n]) };
  },
  avgPool2d: (m, n, s) => ({ inputs: [maker(s).values([2, 2, 2 * m, 2 * n + 1])], fn: (t, x) => t.avgPool2d(x, 2) }),
  'avgPool2d, padding counted in the mean': (m, n, s) => ({
    inputs: [maker(s).values([1, 2, m + 2, n + 2])],
    fn: (t, x) => t.avgPool2d(x, [3, 2], { stride: [2, 1], padding: 1 }),
  }),
  'avgPool2d, padding not counted': (m, n, s) => ({
    inputs: [maker(s).values([1, 2, m + 2, n + 2])],
    fn: (t, x) => t.avgPool2d(x, [3, 2], { stride: [2, 1], padding: 1, countIncludePad: false }),
  }),
  avgPool2dBackward: (m, n, s) => {
    const options = { stride: 2, padding: 1, countIncludePad: false };
    return {
      inputs: [maker(s).values([2, 1, Math.floor((m + 1) / 2) + 1, Math.floor((n + 1) / 2) + 1])],
      fn: (t, g) => t.avgPool2dBackward(g, [2, 1, m + 2, n + 2], 3, options),
    };
  },
};

/** The op a case exercises: the part of its name before any comma. */
export const opOfCase = (name: string) => name.split(',')[0];
