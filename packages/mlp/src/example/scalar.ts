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
  const L = sizes.length - 1,
    K = sizes[L];
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
    case 'sigmoid':
      return { expr: `${d(post)} * ${post} * (1 - ${post})` };
    case 'tanh':
      return { expr: `${d(post)} * (1 - ${post}^2)` };
    case 'relu': {
      const hint = `relu'(${pre}) is 1 for ${pre} > 0, 0 otherwise`;
      return x > 0 ? { expr: d(post), note: `${pre} > 0: relu' = 1`, hint, exprInExercise: false } : { note: `${pre} <= 0: relu' = 0`, hint };
    }
    case 'elu': {
      const hint = `elu'(${pre}) is 1 for ${pre} > 0, ${post} + 1 otherwise`;
      return x > 0
        ? { expr: d(post), note: `${pre} > 0: elu' = 1`, hint, exprInExercise: false }
        : { expr: `${d(post)} * (${post} + 1)`, note: `${pre} <= 0: elu' = ${post} + 1`, hint, exprInExercise: false };
    }
  }
}

/** What the parts of a file share: the network, its numbers and names, and the lines written so far. */
interface Writer {
  spec: ExampleSpec;
  s: Step;
  n: ReturnType<typeof scalarNames>;
  act: (l: number) => OutputActivation;
  /** The target class (0-based) of hinge and cross-entropy, else -1. */
  y: number;
  lines: Line[];
  /** Each weight's and bias's gradient by name, for the updates. */
  grads: Map<string, number>;
}

const comment = (w: Writer, text: string): void => void w.lines.push({ kind: 'space' }, { kind: 'comment', text });
const claim = (w: Writer, lhs: string, value: number, rest: ClaimParts = {}): void => void w.lines.push({ kind: 'claim', lhs, value, ...rest });

export function scalarLines(spec: ExampleSpec, s: Step): Line[] {
  const n = scalarNames(spec);
  const { targets } = spec.values;
  const w: Writer = {
    spec,
    s,
    n,
    lines: [],
    grads: new Map(),
    act: (l) => (l === n.L ? spec.output : spec.activation),
    y: Array.isArray(targets) ? -1 : targets.class - 1,
  };
  givens(w);
  forward(w);
  loss(w);
  backward(w);
  updates(w);
  return w.lines;
}

/** The inputs, weights (in the order of their numbers), biases, targets and learning rate. */
function givens(w: Writer): void {
  const {
    spec: { values },
    n,
  } = w;
  w.lines.push({ kind: 'comment', text: 'inputs, weights, biases, targets and learning rate' });
  const given = (name: string, value: number) => w.lines.push({ kind: 'given', name, value });
  values.inputs.forEach((x, i) => given(n.post(0, i), x));
  values.weights.forEach((W, l) => {
    const ordered = W.flatMap((row, i) => row.map((x, j) => ({ name: n.weight(l, i, j), x })));
    ordered.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
    for (const { name, x } of ordered) given(name, x);
  });
  const seen = new Set<string>();
  values.biases.forEach((b, l) =>
    unitBiases(b, values.sizes[l + 1]).forEach((v, j) => {
      const name = n.bias(l, j);
      if (name && v !== null && !seen.has(name)) given(name, v), seen.add(name);
    }),
  );
  if (w.y >= 0) w.lines.push({ kind: 'comment', text: `the target class is ${w.y + 1} (output ${n.post(n.L, w.y)})` });
  else (values.targets as number[]).forEach((y, k) => given(n.target(k), y));
  given('eta', w.spec.lr);
}

/** Layer by layer, each unit's weighted sum and then its activation. */
function forward(w: Writer): void {
  const { s, n } = w;
  comment(w, 'forward pass');
  for (let l = 1; l <= n.L; l++) {
    for (let j = 0; j < s.pre[l].length; j++) {
      const terms = s.post[l - 1].map((_, i) => `${n.post(l - 1, i)}*${n.weight(l - 1, i, j)}`);
      const b = n.bias(l - 1, j);
      claim(w, n.pre(l, j), s.pre[l][j], { expr: [...terms, ...(b ? [b] : [])].join(' + ') });
      if (w.act(l) !== 'linear') claim(w, n.post(l, j), s.post[l][j], { expr: `${w.act(l)}(${n.pre(l, j)})` });
    }
  }
}

function loss(w: Writer): void {
  const { s, n, y } = w,
    K = n.K,
    o = (k: number) => n.post(n.L, k);
  const others = Array.from({ length: K }, (_, k) => k).filter((k) => k !== y);
  comment(w, 'loss');
  switch (w.spec.loss) {
    case 'mse':
    case 'half-sse': {
      const sum = Array.from({ length: K }, (_, k) => `(${o(k)} - ${n.target(k)})^2`).join(' + ');
      return claim(w, 'l', s.loss, { expr: w.spec.loss === 'mse' ? sum : K === 1 ? `${sum} / 2` : `(${sum}) / 2` });
    }
    case 'hinge':
      for (const k of others) claim(w, `m${k + 1}`, s.margins[k], { expr: `${o(k)} - ${o(y)} + 1` });
      return claim(w, 'l', s.loss, { expr: others.map((k) => `max(0, m${k + 1})`).join(' + ') });
    case 'ce': {
      const denominator = Array.from({ length: K }, (_, k) => `exp(${o(k)})`).join(' + ');
      for (let k = 0; k < K; k++) claim(w, `p${k + 1}`, s.probs[k], { expr: `exp(${o(k)}) / (${denominator})` });
      return claim(w, 'l', s.loss, { expr: `-log(p${y + 1})` });
    }
  }
}

/** dl/d(output), then layer by layer down: dl/d(unit), dl/d(weighted sum), each weight's and bias's gradient. */
function backward(w: Writer): void {
  const { spec, s, n, y } = w,
    L = n.L,
    o = (k: number) => n.post(L, k);
  comment(w, 'backward pass: the chain rule, from the loss back to each weight');
  for (let k = 0; k < n.K; k++) {
    const g = s.dPost[L][k];
    if (spec.loss === 'mse') claim(w, d(o(k)), g, { expr: `2(${o(k)} - ${n.target(k)})` });
    else if (spec.loss === 'half-sse') claim(w, d(o(k)), g, { expr: `${o(k)} - ${n.target(k)}` });
    else if (spec.loss === 'ce') claim(w, d(o(k)), g, { expr: k === y ? `p${k + 1} - 1` : `p${k + 1}` });
    else if (k === y) claim(w, d(o(k)), g, { note: 'minus the number of positive margins', hint: 'minus the number of positive margins' });
    else claim(w, d(o(k)), g, { note: s.margins[k] > 0 ? `m${k + 1} > 0` : `m${k + 1} <= 0`, hint: `1 if m${k + 1} > 0, else 0` });
  }
  for (let l = L; l >= 1; l--) {
    if (l < L) {
      for (let i = 0; i < s.post[l].length; i++) {
        const terms = s.dPre[l + 1].map((_, j) => `${d(n.pre(l + 1, j))} * ${n.weight(l, i, j)}`);
        claim(w, d(n.post(l, i)), s.dPost[l][i], { expr: terms.join(' + ') });
      }
    }
    const a = w.act(l);
    if (a !== 'linear') {
      for (let j = 0; j < s.pre[l].length; j++) claim(w, d(n.pre(l, j)), s.dPre[l][j], activationLine(a, n.pre(l, j), n.post(l, j), s.pre[l][j]));
    }
    const weights = s.post[l - 1].flatMap((_, i) => s.dPre[l].map((_, j) => ({ name: n.weight(l - 1, i, j), i, j })));
    weights.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
    for (const { name, i, j } of weights) {
      claim(w, d(name), s.dW[l - 1][i][j], { expr: `${d(n.pre(l, j))} * ${n.post(l - 1, i)}` });
      w.grads.set(name, s.dW[l - 1][i][j]);
    }
    if (spec.values.biases[l - 1].kind === 'shared') {
      const name = n.bias(l - 1, 0)!;
      claim(w, d(name), s.dB[l - 1][0]!, { expr: s.dPre[l].map((_, j) => d(n.pre(l, j))).join(' + ') });
      w.grads.set(name, s.dB[l - 1][0]!);
    } else {
      s.dB[l - 1].forEach((g, j) => {
        if (g === null) return;
        claim(w, d(n.bias(l - 1, j)!), g, { expr: d(n.pre(l, j)) });
        w.grads.set(n.bias(l - 1, j)!, g);
      });
    }
  }
}

/** Every weight and bias, in the order they were given, minus eta times its gradient. */
function updates(w: Writer): void {
  comment(w, 'gradient descent: each weight and bias minus eta times its gradient');
  for (const line of w.lines.slice()) {
    if (line.kind !== 'given' || !w.grads.has(line.name)) continue;
    claim(w, `new_${line.name}`, (line.value as number) - w.spec.lr * w.grads.get(line.name)!, { expr: `${line.name} - eta * ${d(line.name)}` });
  }
}
