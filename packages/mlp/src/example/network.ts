/**
 * One step of gradient descent on a small network, by hand in float64: the forward pass, the
 * loss, the chain rule layer by layer, the updates. The worked examples print these numbers; the
 * checker recomputes every one of them on its tape, by other code, when it checks the file.
 */
import { activations, type ActivationName } from '../activations.ts';
import type { Bias, ExampleLoss, ExampleValues } from './values.ts';

export type OutputActivation = ActivationName | 'linear';

export interface ExampleSpec {
  values: ExampleValues;
  /** The hidden layers' activation. */
  activation: ActivationName;
  /** The output layer's: the hidden one for a squared error (the paper's and Mazur's), linear scores for hinge and cross-entropy. */
  output: OutputActivation;
  loss: ExampleLoss;
  lr: number;
}

export interface Step {
  /** post[0] is the input, post[l] = g(pre[l]) the output of layer l (1 to L). pre[0] is unused. */
  pre: number[][];
  post: number[][];
  loss: number;
  /** Hinge: the margin of each output (NaN at the target class). Cross-entropy: the softmax probabilities. */
  margins: number[];
  probs: number[];
  /** dl/d post[l] and dl/d pre[l], for l = 1 to L. */
  dPost: number[][];
  dPre: number[][];
  /** dl/dW[l][i][j] (l from 0) and dl/db[l]: one per unit (null where none), or one for a shared bias. */
  dW: number[][][];
  dB: (number | null)[][];
}

/** The derivative of layer l's activation at input x with output y. */
export function slope(name: OutputActivation, x: number, y: number): number {
  return name === 'linear' ? 1 : activations[name].df(x, y);
}

const apply = (name: OutputActivation, x: number) => (name === 'linear' ? x : activations[name].f(x));

/** The biases of a layer as one number (or null) per unit. */
export const unitBiases = (b: Bias, units: number): (number | null)[] =>
  b.kind === 'none' ? new Array(units).fill(null) : b.kind === 'shared' ? new Array(units).fill(b.value) : b.values;

export function targetOf(values: ExampleValues, k: number): number {
  return Array.isArray(values.targets) ? values.targets[k] : k + 1 === values.targets.class ? 1 : 0;
}

export function step(spec: ExampleSpec): Step {
  const { values, loss } = spec;
  const L = values.sizes.length - 1;
  const act = (l: number) => (l === L ? spec.output : spec.activation);
  const pre: number[][] = [[]],
    post: number[][] = [values.inputs];
  for (let l = 1; l <= L; l++) {
    const W = values.weights[l - 1],
      b = unitBiases(values.biases[l - 1], values.sizes[l]);
    const z = b.map((bj, j) => post[l - 1].reduce((s, x, i) => s + x * W[i][j], 0) + (bj ?? 0));
    pre.push(z);
    post.push(z.map((x) => apply(act(l), x)));
  }
  const o = post[L],
    K = o.length;
  let lossValue: number, dOut: number[];
  let margins: number[] = [],
    probs: number[] = [];
  if (loss === 'mse' || loss === 'half-sse') {
    const half = loss === 'half-sse' ? 0.5 : 1;
    lossValue = half * o.reduce((s, x, k) => s + (x - targetOf(values, k)) ** 2, 0);
    dOut = o.map((x, k) => 2 * half * (x - targetOf(values, k)));
  } else {
    const y = (values.targets as { class: number }).class - 1;
    if (loss === 'hinge') {
      margins = o.map((x, k) => (k === y ? NaN : x - o[y] + 1));
      lossValue = margins.reduce((s, m, k) => (k === y ? s : s + Math.max(0, m)), 0);
      const positive = margins.filter((m) => m > 0).length;
      dOut = margins.map((m, k) => (k === y ? -positive : m > 0 ? 1 : 0));
    } else {
      const sum = o.reduce((s, x) => s + Math.exp(x), 0);
      probs = o.map((x) => Math.exp(x) / sum);
      lossValue = -Math.log(probs[y]);
      dOut = probs.map((p, k) => (k === y ? p - 1 : p));
    }
  }
  const dPost: number[][] = new Array(L + 1),
    dPre: number[][] = new Array(L + 1);
  const dW: number[][][] = new Array(L),
    dB: (number | null)[][] = new Array(L);
  dPost[L] = dOut.slice(0, K);
  for (let l = L; l >= 1; l--) {
    dPre[l] = dPost[l].map((g, j) => g * slope(act(l), pre[l][j], post[l][j]));
    dW[l - 1] = post[l - 1].map((x) => dPre[l].map((g) => g * x));
    const bias = values.biases[l - 1];
    dB[l - 1] =
      bias.kind === 'shared' ? [dPre[l].reduce((s, g) => s + g, 0)] : unitBiases(bias, values.sizes[l]).map((b, j) => (b === null ? null : dPre[l][j]));
    if (l > 1) dPost[l - 1] = post[l - 1].map((_, i) => dPre[l].reduce((s, g, j) => s + g * values.weights[l - 1][i][j], 0));
  }
  return { pre, post, loss: lossValue, margins, probs, dPost, dPre, dW, dB };
}
