/** Dense layers: Linear (x W + b, with an optional activation) and Embedding (rows of a table). */
import type { Tape } from '../tape.ts';
import { formatShape, type Tensor } from '../tensor.ts';
import { expectInput, type Layer, type LayerContext, type ParameterInit, type ParameterSpec } from './layer.ts';

/** The unary ops a Linear or Conv2d may end with. */
export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'gelu' | 'elu' | 'softplus' | 'leakyRelu';
export const activationNames: readonly ActivationName[] = ['relu', 'tanh', 'sigmoid', 'gelu', 'elu', 'softplus', 'leakyRelu'];

/** x through the tape's op `name`, or x itself without one. */
export function activate(t: Tape, x: Tensor, name: ActivationName | undefined): Tensor {
  return name === undefined ? x : t[name](x);
}

/** Checks an activation option (a typo would otherwise surface as an odd error mid-training). */
export function checkActivation(label: string, name: unknown): ActivationName | undefined {
  if (name === undefined || activationNames.includes(name as ActivationName)) return name as ActivationName | undefined;
  throw new Error(`${label}: activation must be one of ${activationNames.join(', ')}, got ${JSON.stringify(name)}`);
}

/** Checks that a size is a positive integer. */
export function positive(label: string, what: string, n: unknown): number {
  if (!(Number.isSafeInteger(n) && (n as number) > 0)) throw new Error(`${label}: ${what} must be a positive integer, got ${JSON.stringify(n)}`);
  return n as number;
}

export interface LinearOptions {
  /** Add a bias b [out] (default true). */
  bias?: boolean;
  /** The weights' initialisation (default xavier, as Keras' Dense); the bias starts at zero. */
  init?: ParameterInit;
  activation?: ActivationName;
}

/** y = x W + b for x [n, in], W [in, out] (this project's layout: rows are examples), then the activation. */
export class Linear implements Layer {
  readonly label: string;
  readonly parameters: Record<string, ParameterSpec>;
  private readonly activation?: ActivationName;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    this.label = `Linear(${inFeatures}, ${outFeatures})`;
    positive(this.label, 'inFeatures', inFeatures);
    positive(this.label, 'outFeatures', outFeatures);
    this.activation = checkActivation(this.label, options.activation);
    this.parameters = { weight: { shape: [inFeatures, outFeatures], init: options.init ?? 'xavier', fanIn: inFeatures, fanOut: outFeatures } };
    if (options.bias ?? true) this.parameters.bias = { shape: [outFeatures], init: 'zeros' };
  }

  forward(t: Tape, x: Tensor, { p }: LayerContext): Tensor {
    expectInput(x, 2, [this.inFeatures], `[n, ${this.inFeatures}]`, true);
    const y = t.matmul(x, p.weight);
    return activate(t, p.bias ? t.add(y, p.bias) : y, this.activation);
  }
}

/** Row i of a table E [count, dim] for each index i in x (any shape of whole numbers): [...x.shape, dim]. */
export class Embedding implements Layer {
  readonly label: string;
  readonly parameters: Record<string, ParameterSpec>;

  /** The table starts as draws of a standard normal (as torch.nn.Embedding's) unless `init` says otherwise. */
  constructor(
    readonly count: number,
    readonly dim: number,
    options: { init?: ParameterInit } = {},
  ) {
    this.label = `Embedding(${count}, ${dim})`;
    positive(this.label, 'count', count);
    positive(this.label, 'dim', dim);
    this.parameters = { weight: { shape: [count, dim], init: options.init ?? ((rng) => rng.normal()), fanIn: count, fanOut: dim } };
  }

  forward(t: Tape, x: Tensor, { p }: LayerContext): Tensor {
    const index = x.toFlatArray();
    const bad = index.findIndex((i) => !(Number.isInteger(i) && i >= 0 && i < this.count));
    if (bad >= 0)
      throw new Error(`the input ${formatShape(x.shape)} holds ${index[bad]} at flat index ${bad}: indices must be whole numbers in [0, ${this.count})`);
    return t.reshape(t.gather(p.weight, index), [...x.shape, this.dim]);
  }
}
