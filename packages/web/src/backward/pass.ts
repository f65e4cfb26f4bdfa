/**
 * One backward pass of a small network, recorded step by step: the tape's records walked from the
 * loss back to the inputs (`Tape.gradients` with `onStep`), what each step passed to each input,
 * and beside it an independent account of the same gradients: mlp's hand-derived pass (hand.ts) for
 * a network of the user's choice, or the values the paper prints for its Figures 3-4.
 */
import { Rng, Tape, tensor, Tensor, type TapeRecord } from '@backprop/graph';
import { activationNames, Dense, handBackward, lossNames, lossOnTape, MLP, type ActivationName, type LossName } from '@backprop/mlp/core';

export interface Setup {
  /** 'paper': the paper's Figures 3-4 (2-2-1, sigmoid units, squared error, target 0.01); 'mlp': a network of the user's choice. */
  network: 'paper' | 'mlp';
  layers: number[];
  activation: ActivationName;
  loss: LossName;
  seed: number;
}

export const defaultSetup: Setup = { network: 'paper', layers: [2, 3, 2], activation: 'tanh', loss: 'hinge', seed: 1 };

/** One step of the backward pass: the record reached, the gradient of its output, and what it passed to each tensor input. */
export interface Step {
  record: TapeRecord;
  grad: Tensor;
  passed: [Tensor, Tensor][];
}

/** A parameter's gradient by the tape and by the independent account ('' where it has none). */
export interface Compared {
  name: string;
  tape: Tensor;
  other: number[] | undefined;
}

export interface Pass {
  tape: Tape;
  loss: Tensor;
  names: Map<Tensor, string>;
  /** In the order the backward pass reaches them: from the loss back to the inputs. */
  steps: Step[];
  params: Tensor[];
  compared: Compared[];
  /** What the right-hand column is. */
  otherName: string;
  caption: string;
}

/** The settings from a URL value (a query string); what is not understood keeps its default. */
export function parseSetup(value: string): Setup & { step: number } {
  const q = new URLSearchParams(value);
  const s = { ...defaultSetup, layers: [...defaultSetup.layers], step: 0 };
  if (q.get('network') === 'mlp') s.network = 'mlp';
  const layers = q.get('layers')?.split(',').map(Number);
  if (layers && layers.length >= 2 && layers.length <= 4 && layers.every((n) => Number.isInteger(n) && n >= 1 && n <= 4) && layers.at(-1)! >= 2)
    s.layers = layers;
  if (activationNames.includes(q.get('activation') as ActivationName)) s.activation = q.get('activation') as ActivationName;
  if (lossNames.includes(q.get('loss') as LossName)) s.loss = q.get('loss') as LossName;
  const seed = Number(q.get('seed'));
  if (Number.isInteger(seed) && seed > 0) s.seed = seed;
  const step = Number(q.get('step'));
  if (Number.isInteger(step) && step >= 0) s.step = step;
  return s;
}

const param = (values: number[], shape: number[]) => tensor(Float64Array.from(values), { shape, dtype: 'float64', requiresGrad: true });

/** The paper's network (Figure 3's values, I2 = 0.25; h2 has no bias, so b1's second entry is 0). */
function paperNetwork(): MLP {
  const layers = [new Dense(param([0.25, 0.6, 0.75, 0.35], [2, 2]), param([0.45, 0], [2])), new Dense(param([0.55, 0.65], [2, 1]), param([0.65], [1]))];
  return new MLP({ sizes: [2, 2, 1], activation: 'sigmoid' }, layers);
}

/** The paper's names of the tensors an MLP's forward pass made: X, W1, b1, X·W1, H1_pre, H1, ..., S, and the loss l. */
function paperNames(tape: Tape, X: Tensor, params: Tensor[], loss: Tensor): Map<Tensor, string> {
  const L = params.length / 2;
  const names = new Map<Tensor, string>([[X, 'X']]);
  params.forEach((p, i) => names.set(p, `${i % 2 ? 'b' : 'W'}${Math.floor(i / 2) + 1}`));
  const pre = new Map<Tensor, number>();
  for (const r of tape.records) {
    if (names.has(r.out)) continue;
    const w = params.findIndex((p, i) => i % 2 === 0 && r.args.includes(p));
    const b = params.findIndex((p, i) => i % 2 === 1 && r.args.includes(p));
    const input = r.args[0] instanceof Tensor ? r.args[0] : undefined;
    if (b >= 0) {
      const l = (b + 1) / 2;
      names.set(r.out, l === L ? 'S' : `H${l}_pre`);
      pre.set(r.out, l);
    } else if (w >= 0) names.set(r.out, `${(input && names.get(input)) ?? 'H'}·W${w / 2 + 1}`);
    else if (input && pre.has(input) && pre.get(input)! < L) names.set(r.out, `H${pre.get(input)}`);
  }
  names.set(loss, 'l');
  return names;
}

/** Records the forward pass and walks the backward pass of `setup`'s network. */
export function recordPass(setup: Setup): Pass {
  const tape = new Tape();
  let net: MLP, X: Tensor, loss: Tensor, other: (number[] | undefined)[], otherName: string, caption: string;
  const extra = new Map<Tensor, string>();
  if (setup.network === 'paper') {
    net = paperNetwork();
    X = tensor(Float64Array.from([0.05, 0.25]), { shape: [1, 2], dtype: 'float64' });
    const S = net.forward(tape, X); // o' (the output unit's input)
    const o = tape.sigmoid(S);
    const y = tensor(Float64Array.from([0.01]), { shape: [1, 1], dtype: 'float64' });
    loss = tape.squaredError(o, y);
    extra.set(o, 'o').set(y, 'y');
    // Figure 3-4's backward pass: dl/dw5 and dl/dw6 (W2's entries), the only gradients it prints.
    other = [undefined, undefined, [0.168103, 0.13543], undefined];
    otherName = 'the paper (Figure 3)';
    caption =
      "The paper's Figures 3-4: I = (0.05, 0.25), sigmoid units, o = sigmoid(o'), l = (o - y)² with y = 0.01. h2 has no bias (b1's second entry is 0; the tape still computes its gradient). S is o'.";
  } else {
    const rng = Rng.seeded(setup.seed);
    net = MLP.init({ sizes: setup.layers, activation: setup.activation }, rng, { init: 'xavier', dtype: 'float64' });
    X = rng.tensor([1, setup.layers[0]], (r) => Math.round(100 * r.uniform()) / 100, { dtype: 'float64' });
    const label = rng.int(setup.layers.at(-1)!);
    loss = lossOnTape(tape, setup.loss, net.forward(tape, X), [label]);
    const hand = handBackward(net, X, [label], setup.loss);
    other = hand.grads.map((g) => g.toFlatArray());
    otherName = 'by hand (mlp hand.ts)';
    caption = `A ${setup.layers.join('-')} network (${setup.activation}, ${setup.loss} loss on label ${label}), weights drawn with seed ${setup.seed}, float64.`;
  }
  const params = net.parameters();
  const names = paperNames(tape, X, params, loss);
  for (const [t, n] of extra) names.set(t, n);
  const steps: Step[] = [];
  const grads = tape.gradients(loss, params, {
    onStep: (record, grad, inputGrads) => {
      const passed: [Tensor, Tensor][] = [];
      record.args.forEach((a, i) => {
        const g = inputGrads[i];
        if (a instanceof Tensor && g instanceof Tensor && a.requiresGrad) passed.push([a, g]);
      });
      steps.push({ record, grad, passed });
    },
  });
  const compared = params.map((p, i) => ({ name: names.get(p)!, tape: grads[i], other: other[i] }));
  return { tape, loss, names, steps, params, compared, otherName, caption };
}

/** Each tensor's gradient after the first `k` steps: the sum of what the steps so far passed it (the loss's is 1). */
export function gradientsAfter(pass: Pass, k: number): Map<Tensor, number[]> {
  const known = new Map<Tensor, number[]>([[pass.loss, [1]]]);
  for (const { passed } of pass.steps.slice(0, k)) {
    for (const [t, g] of passed) {
      const v = g.toFlatArray();
      const sum = known.get(t);
      known.set(t, sum ? sum.map((x, i) => x + v[i]) : Array.from(v));
    }
  }
  return known;
}
