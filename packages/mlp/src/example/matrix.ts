/**
 * A worked example in the matrix notation of the paper's §2.1: H1_pre = X @ W1 + b1,
 * H1 = g(H1_pre), S = H1 @ W2 + b2; M = dl/dS, dl/dW2 = T(H1) @ M, dl/db2 = T(M) @ [1, ..., 1],
 * dl/dH1 = M @ T(W2), dl/dH1_pre = dl/dH1 * g'(H1_pre), dl/dW1 = T(X) @ dl/dH1_pre. One sample:
 * X is a row.
 */
import type { ExampleSpec, OutputActivation, Step } from './network.ts';
import { targetOf } from './network.ts';
import type { Line } from './lines.ts';

const d = (name: string) => `dl/d${name}`;
const row = (v: number[]) => [v];

export function matrixLines(spec: ExampleSpec, s: Step): Line[] {
  const { values, loss } = spec;
  const { sizes } = values;
  const L = sizes.length - 1,
    K = sizes[L];
  const linear = spec.output === 'linear';
  const act = (l: number) => (l === L ? spec.output : spec.activation);
  const pre = (l: number) => (l === L ? 'S' : `H${l}_pre`);
  const post = (l: number) => (l === 0 ? 'X' : l === L ? (linear ? 'S' : 'O') : `H${l}`);
  values.biases.forEach((b, l) => {
    if (b.kind === 'unit' && b.values.some((v) => v === null)) {
      throw new Error(
        `--matrix: layer ${l + 1} has a bias on some of its units only (the paper's h2 has none); the matrix form needs one on every unit, one shared by the layer, or none`,
      );
    }
  });
  const lines: Line[] = [];
  const comment = (text: string) => lines.push({ kind: 'comment', text });
  const space = () => lines.push({ kind: 'space' });
  const claim = (lhs: string, value: number | number[] | number[][], rest: { expr?: string; note?: string; hint?: string; exprInExercise?: boolean } = {}) =>
    lines.push({ kind: 'claim', lhs, value, ...rest });

  comment('the input X (one sample, a row), weights W (one row per input, one column per unit), biases b, targets Y, learning rate');
  lines.push({ kind: 'given', name: 'X', value: row(values.inputs) });
  values.weights.forEach((W, l) => {
    lines.push({ kind: 'given', name: `W${l + 1}`, value: W });
    const b = values.biases[l];
    if (b.kind === 'shared') lines.push({ kind: 'given', name: `b${l + 1}`, value: b.value });
    if (b.kind === 'unit') lines.push({ kind: 'given', name: `b${l + 1}`, value: b.values as number[] });
  });
  const classifier = !Array.isArray(values.targets);
  lines.push({ kind: 'given', name: 'Y', value: row(Array.from({ length: K }, (_, k) => targetOf(values, k))) });
  if (classifier) comment(`Y is one-hot: the target class is ${(values.targets as { class: number }).class}`);
  lines.push({ kind: 'given', name: 'eta', value: spec.lr });

  space();
  comment('forward pass');
  for (let l = 1; l <= L; l++) {
    const b = values.biases[l - 1].kind === 'none' ? '' : ` + b${l}`;
    claim(pre(l), row(s.pre[l]), { expr: `${post(l - 1)} @ W${l}${b}` });
    if (act(l) !== 'linear') claim(post(l), row(s.post[l]), { expr: `${act(l)}(${pre(l)})` });
  }

  space();
  comment('loss');
  const O = post(L);
  if (loss === 'mse') claim('l', s.loss, { expr: `sum((${O} - Y)^2)` });
  else if (loss === 'half-sse') claim('l', s.loss, { expr: `sum((${O} - Y)^2) / 2` });
  else if (loss === 'ce') {
    claim('P', row(s.probs), { expr: `softmax(${O})` });
    claim('l', s.loss, { expr: '-log(sum(P * Y))' });
  } else {
    const y = (values.targets as { class: number }).class - 1;
    claim('s_y', s.post[L][y], { expr: `sum(${O} * Y)`, note: 'the score of the target class' });
    claim('margins', row(s.margins.map((m, k) => (k === y ? 0 : m))), { expr: `(${O} - s_y + 1) * (1 - Y)` });
    claim('l', s.loss, { expr: 'sum(max(0, margins))' });
  }

  space();
  comment('backward pass: M = dl/dS, then layer by layer');
  const gOut = row(s.dPost[L]);
  if (loss === 'mse') claim(d(O), gOut, { expr: `2(${O} - Y)` });
  else if (loss === 'half-sse') claim(d(O), gOut, { expr: `${O} - Y` });
  else if (loss === 'ce') claim(d(O), gOut, { expr: 'P - Y' });
  else
    claim(d(O), gOut, {
      note: '1 where a margin is positive, minus their number at the target class',
      hint: '1 where a margin is positive, minus their number at the target class',
    });
  for (let l = L; l >= 1; l--) {
    if (l < L) claim(d(post(l)), row(s.dPost[l]), { expr: `${d(pre(l + 1))} @ T(W${l + 1})` });
    const a = act(l);
    if (a !== 'linear') claim(d(pre(l)), row(s.dPre[l]), activationLine(a, pre(l), post(l), s.pre[l]));
    claim(d(`W${l}`), s.dW[l - 1], { expr: `T(${post(l - 1)}) @ ${d(pre(l))}` });
    const b = values.biases[l - 1];
    if (b.kind === 'shared')
      claim(d(`b${l}`), s.dB[l - 1][0]!, { expr: `sum(${d(pre(l))})`, note: "a bias shared by the layer collects every unit's gradient" });
    if (b.kind === 'unit')
      claim(d(`b${l}`), s.dB[l - 1] as number[], { expr: `T(${d(pre(l))}) @ [[1]]`, note: 'the column sums, M^T [1, ..., 1] with one sample' });
  }

  space();
  comment('gradient descent: each weight and bias minus eta times its gradient');
  values.weights.forEach((W, l) => {
    claim(
      `new_W${l + 1}`,
      W.map((r, i) => r.map((w, j) => w - spec.lr * s.dW[l][i][j])),
      { expr: `W${l + 1} - eta * ${d(`W${l + 1}`)}` },
    );
    const b = values.biases[l];
    if (b.kind === 'shared') claim(`new_b${l + 1}`, b.value - spec.lr * s.dB[l][0]!, { expr: `b${l + 1} - eta * ${d(`b${l + 1}`)}` });
    if (b.kind === 'unit')
      claim(
        `new_b${l + 1}`,
        b.values.map((v, j) => v! - spec.lr * s.dB[l][j]!),
        { expr: `b${l + 1} - eta * ${d(`b${l + 1}`)}` },
      );
  });
  return lines;
}

/** dl/dH_pre = dl/dH * g'(H_pre), written with what the language has: relu' as a 0/1 mask, elu' as min(H + 1, 1). */
function activationLine(act: Exclude<OutputActivation, 'linear'>, pre: string, post: string, x: number[]) {
  switch (act) {
    case 'sigmoid':
      return { expr: `${d(post)} * ${post} * (1 - ${post})` };
    case 'tanh':
      return { expr: `${d(post)} * (1 - ${post}^2)` };
    case 'elu':
      return { expr: `${d(post)} * min(${post} + 1, 1)`, note: `elu'(x) is 1 for x > 0 and elu(x) + 1 otherwise: min(${post} + 1, 1)` };
    case 'relu': {
      const mask = `[[${x.map((v) => (v > 0 ? 1 : 0)).join(', ')}]]`;
      return {
        expr: `${d(post)} * ${mask}`,
        note: `relu'(${pre}): 1 where ${pre} > 0, else 0`,
        hint: `${d(post)} times relu'(${pre}): 1 where ${pre} > 0, else 0`,
        exprInExercise: false,
      };
    }
  }
}
