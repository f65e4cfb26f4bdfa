/**
 * A worked example unit by unit, as the paper's Figures 3-4 write it: h1 = I1*w1 + I2*w3 + b1,
 * H1 = sigmoid(h1), ..., the loss, dl/do, dl/do', dl/dw5 = dl/do' * H1, ..., new_w5 = w5 - eta * dl/dw5.
 */
import type { ExampleSpec, OutputActivation, Step } from './network.ts';
import { unitBiases } from './network.ts';
import type { Line } from './lines.ts';

/** The names of a network's numbers: inputs I1.., hidden h1/H1 (numbered on across layers), outputs o'/o, weights w1.., biases b1... */
export function scalarNames(spec: ExampleSpec) {
  const { sizes, numbering, biases } = spec.values;
  const L = sizes.length - 1, K = sizes[L];
  const linear = spec.output === 'linear';
  const hiddenBefore = (l: number) => sizes.slice(1, l).reduce((a, b) => a + b, 0);
  const out = (k: number) => (K === 1 ? 'o' : `o${k + 1}`);
  const post = (l: number, j: number) => (l === 0 ? `I${j + 1}` : l === L ? out(j) : `H${hiddenBefore(l) + j + 1}`);
  const pre = (l: number, j: number) => (l === L ? (linear ? out(j) : `${out(j)}'`) : `h${hiddenBefore(l) + j + 1}`);
  const weightsBefore = (l: number) => sizes.slice(0, l).reduce((n, s, m) => n + s * sizes[m + 1], 0);
  /** The weight from unit i of layer l to unit j of layer l + 1 (l from 0). */
  const weight = (l: number, i: number, j: number) => {
    const [inn, outs] = [sizes[l], sizes[l + 1]];
    return `w${weightsBefore(l) + (numbering === 'by-input' ? i * outs + j : j * inn + i) + 1}`;
  };
  // Biases are numbered on across layers: a shared one takes one number, a unit's one each.
  const biasNames: (string | null)[][] = [];
  let next = 1;
  biases.forEach((b, l) => {
    if (b.kind === 'shared') {
      const name = `b${next++}`;
      biasNames.push(new Array(sizes[l + 1]).fill(name));
    } else biasNames.push(unitBiases(b, sizes[l + 1]).map((v) => (v === null ? null : `b${next++}`)));
  });
  const target = (k: number) => (K === 1 ? 'y' : `y${k + 1}`);
  return { L, K, post, pre, weight, bias: (l: number, j: number) => biasNames[l][j], target };
}

const d = (name: string) => `dl/d${name}`;

/** A claim line but for its name and value. */
type ClaimParts = Omit<Extract<Line, { kind: 'claim' }>, 'kind' | 'value' | 'lhs'>;

/** The local derivative of an activation, as a line of the backward pass: `dl/dh1 = dl/dH1 * H1 * (1 - H1)`. */
function activationLine(act: Exclude<OutputActivation, 'linear'>, pre: string, post: string, x: number): ClaimParts {
  switch (act) {
    case 'sigmoid': return { expr: `${d(post)} * ${post} * (1 - ${post})` };
    case 'tanh': return { expr: `${d(post)} * (1 - ${post}^2)` };
    case 'relu': {
      const hint = `relu'(${pre}) is 1 for ${pre} > 0, 0 otherwise`;
      return x > 0 ? { expr: d(post), note: `${pre} > 0: relu' = 1`, hint, exprInExercise: false } : { note: `${pre} <= 0: relu' = 0`, hint };
    }
    case 'elu': {
      const hint = `elu'(${pre}) is 1 for ${pre} > 0, ${post} + 1 otherwise`;
      return x > 0 ? { expr: d(post), note: `${pre} > 0: elu' = 1`, hint, exprInExercise: false } : { expr: `${d(post)} * (${post} + 1)`, note: `${pre} <= 0: elu' = ${post} + 1`, hint, exprInExercise: false };
    }
  }
}

export function scalarLines(spec: ExampleSpec, s: Step): Line[] {
  const { values, loss } = spec;
  const n = scalarNames(spec);
  const { L, K } = n;
  const act = (l: number) => (l === L ? spec.output : spec.activation);
  const lines: Line[] = [];
  const comment = (text: string) => lines.push({ kind: 'comment', text });
  const space = () => lines.push({ kind: 'space' });
  const claim = (lhs: string, value: number, rest: ClaimParts = {}) => lines.push({ kind: 'claim', lhs, value, ...rest });

  comment('inputs, weights, biases, targets and learning rate');
  values.inputs.forEach((x, i) => lines.push({ kind: 'given', name: n.post(0, i), value: x }));
  values.weights.forEach((W, l) => {
    const ordered = W.flatMap((row, i) => row.map((w, j) => ({ name: n.weight(l, i, j), w })));
    ordered.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
    for (const { name, w } of ordered) lines.push({ kind: 'given', name, value: w });
  });
  const seen = new Set<string>();
  values.biases.forEach((b, l) => unitBiases(b, values.sizes[l + 1]).forEach((v, j) => {
    const name = n.bias(l, j);
    if (name && v !== null && !seen.has(name)) lines.push({ kind: 'given', name, value: v }), seen.add(name);
  }));
  const classifier = !Array.isArray(values.targets);
  if (classifier) comment(`the target class is ${(values.targets as { class: number }).class} (output ${n.post(L, (values.targets as { class: number }).class - 1)})`);
  else (values.targets as number[]).forEach((y, k) => lines.push({ kind: 'given', name: n.target(k), value: y }));
  lines.push({ kind: 'given', name: 'eta', value: spec.lr });

  space();
  comment('forward pass');
  for (let l = 1; l <= L; l++) {
    for (let j = 0; j < values.sizes[l]; j++) {
      const terms = s.post[l - 1].map((_, i) => `${n.post(l - 1, i)}*${n.weight(l - 1, i, j)}`);
      const b = n.bias(l - 1, j);
      claim(n.pre(l, j), s.pre[l][j], { expr: [...terms, ...(b ? [b] : [])].join(' + ') });
      if (act(l) !== 'linear') claim(n.post(l, j), s.post[l][j], { expr: `${act(l)}(${n.pre(l, j)})` });
    }
  }

  space();
  comment('loss');
  const o = (k: number) => n.post(L, k);
  const y = classifier ? (values.targets as { class: number }).class - 1 : -1;
  if (loss === 'mse' || loss === 'half-sse') {
    const squares = Array.from({ length: K }, (_, k) => `(${o(k)} - ${n.target(k)})^2`);
    const sum = squares.join(' + ');
    claim('l', s.loss, { expr: loss === 'mse' ? sum : K === 1 ? `${sum} / 2` : `(${sum}) / 2` });
  } else if (loss === 'hinge') {
    for (let k = 0; k < K; k++) if (k !== y) claim(`m${k + 1}`, s.margins[k], { expr: `${o(k)} - ${o(y)} + 1` });
    claim('l', s.loss, { expr: Array.from({ length: K }, (_, k) => k).filter((k) => k !== y).map((k) => `max(0, m${k + 1})`).join(' + ') });
  } else {
    const denominator = Array.from({ length: K }, (_, k) => `exp(${o(k)})`).join(' + ');
    for (let k = 0; k < K; k++) claim(`p${k + 1}`, s.probs[k], { expr: `exp(${o(k)}) / (${denominator})` });
    claim('l', s.loss, { expr: `-log(p${y + 1})` });
  }

  space();
  comment('backward pass: the chain rule, from the loss back to each weight');
  for (let k = 0; k < K; k++) {
    const g = s.dPost[L][k];
    if (loss === 'mse') claim(d(o(k)), g, { expr: `2(${o(k)} - ${n.target(k)})` });
    else if (loss === 'half-sse') claim(d(o(k)), g, { expr: `${o(k)} - ${n.target(k)}` });
    else if (loss === 'ce') claim(d(o(k)), g, { expr: k === y ? `p${k + 1} - 1` : `p${k + 1}` });
    else if (k === y) claim(d(o(k)), g, { note: 'minus the number of positive margins', hint: 'minus the number of positive margins' });
    else claim(d(o(k)), g, { note: s.margins[k] > 0 ? `m${k + 1} > 0` : `m${k + 1} <= 0`, hint: `1 if m${k + 1} > 0, else 0` });
  }
  for (let l = L; l >= 1; l--) {
    if (l < L) {
      for (let i = 0; i < values.sizes[l]; i++) {
        const terms = s.dPre[l + 1].map((_, j) => `${d(n.pre(l + 1, j))} * ${n.weight(l, i, j)}`);
        claim(d(n.post(l, i)), s.dPost[l][i], { expr: terms.join(' + ') });
      }
    }
    const a = act(l);
    if (a !== 'linear') {
      for (let j = 0; j < values.sizes[l]; j++) claim(d(n.pre(l, j)), s.dPre[l][j], activationLine(a, n.pre(l, j), n.post(l, j), s.pre[l][j]));
    }
    const grads = s.post[l - 1].flatMap((_, i) => s.dPre[l].map((_, j) => ({ name: n.weight(l - 1, i, j), i, j })));
    grads.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
    for (const { name, i, j } of grads) claim(d(name), s.dW[l - 1][i][j], { expr: `${d(n.pre(l, j))} * ${n.post(l - 1, i)}` });
    const bias = values.biases[l - 1];
    if (bias.kind === 'shared') {
      claim(d(n.bias(l - 1, 0)!), s.dB[l - 1][0]!, { expr: s.dPre[l].map((_, j) => d(n.pre(l, j))).join(' + ') });
    } else {
      s.dB[l - 1].forEach((g, j) => g !== null && claim(d(n.bias(l - 1, j)!), g, { expr: d(n.pre(l, j)) }));
    }
  }

  space();
  comment('gradient descent: each weight and bias minus eta times its gradient');
  for (const line of lines.slice()) {
    if (line.kind !== 'given' || !/^[wb]\d+$/.test(line.name)) continue;
    const g = gradientOf(line.name, spec, s, n);
    claim(`new_${line.name}`, (line.value as number) - spec.lr * g, { expr: `${line.name} - eta * ${d(line.name)}` });
  }
  return lines;
}

/** The gradient of a weight or bias by name. */
function gradientOf(name: string, spec: ExampleSpec, s: Step, n: ReturnType<typeof scalarNames>): number {
  const { sizes } = spec.values;
  for (let l = 0; l < sizes.length - 1; l++) {
    for (let j = 0; j < sizes[l + 1]; j++) {
      if (n.bias(l, j) === name) return spec.values.biases[l].kind === 'shared' ? s.dB[l][0]! : s.dB[l][j]!;
      for (let i = 0; i < sizes[l]; i++) if (n.weight(l, i, j) === name) return s.dW[l][i][j];
    }
  }
  throw new Error(`no parameter ${name}`);
}
