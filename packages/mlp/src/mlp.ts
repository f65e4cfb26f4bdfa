/** Dense layers and the multilayer perceptron of §2.1: hidden layers with an activation, a linear output giving scores S. */
import { kernels, Tensor, zeros, type DType, type Rng, Tape } from '@backprop/graph';
import type { ActivationName } from './activations.ts';
import { weightSampler, type InitName } from './init.ts';
import type { Network } from './network.ts';

export class Dense {
  constructor(
    readonly W: Tensor,
    readonly b: Tensor,
  ) {}

  static init(fanIn: number, fanOut: number, rng: Rng, init: InitName, dtype: DType): Dense {
    const W = rng.tensor([fanIn, fanOut], weightSampler(init, fanIn, fanOut), { dtype, requiresGrad: true });
    return new Dense(W, zeros([fanOut], { dtype, requiresGrad: true }));
  }

  /** X W + b */
  forward(t: Tape, X: Tensor): Tensor {
    return t.add(t.matmul(X, this.W), this.b);
  }
}

/** `2,3,1` -> [2, 3, 1]: an MLP's layer sizes, inputs first, as `--layers` gives them (train, gradcheck, example). */
export function parseLayers(text: string): number[] {
  const sizes = text.split(',').map((s) => Number(s.trim()));
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`--layers ${text}: expected two or more positive integers separated by commas, e.g. 784,800,100,10`);
  }
  return sizes;
}

export interface MLPSpec {
  /** Layer sizes from input to output, e.g. [784, 800, 100, 10]. */
  sizes: number[];
  /** The activation of every hidden layer. */
  activation: ActivationName;
}

/** The `format` in the metadata of a saved MLP. */
export const MLP_FORMAT = 'backprop-mlp/1';

export class MLP implements Network {
  readonly sizes: number[];
  readonly activation: ActivationName;

  constructor(
    spec: MLPSpec,
    readonly layers: Dense[],
  ) {
    this.sizes = [...spec.sizes];
    this.activation = spec.activation;
    validateSpec(spec);
    layers.forEach((layer, i) => {
      const want = [spec.sizes[i], spec.sizes[i + 1]];
      if (layer.W.shape.join() !== want.join() || layer.b.shape.join() !== `${want[1]}`) {
        throw new Error(`MLP: layer ${i} has W ${layer.W.shape} and b ${layer.b.shape}, expected W ${want} and b ${want[1]}`);
      }
    });
  }

  /** A new network with weights drawn from `rng`: the paper's initialisation by default. */
  static init(spec: MLPSpec, rng: Rng, options: { init?: InitName; dtype?: DType } = {}): MLP {
    validateSpec(spec);
    const layers = spec.sizes.slice(1).map((out, i) => Dense.init(spec.sizes[i], out, rng, options.init ?? 'paper', options.dtype ?? 'float32'));
    return new MLP(spec, layers);
  }

  /** Scores S [n, classes] for a batch X [n, features] (the same in training and evaluation). */
  forward(t: Tape, X: Tensor): Tensor {
    let h = X;
    this.layers.forEach((layer, i) => {
      h = layer.forward(t, h);
      if (i < this.layers.length - 1) h = activate(t, this.activation, h);
    });
    return h;
  }

  /**
   * Scores S [n, classes] in evaluation, recorded on no tape (constants: no gradient reaches the
   * parameters): the bits of `forward`, with a tanh hidden layer computed as tanh(H W + b) in one
   * kernel where the kernels can (kernels.matmulAddTanh: a sparse H, the first layer on MNIST's
   * images), so that H W and H W + b are never written. It takes no tape, so that none can expect
   * it to record or to check finiteness.
   */
  infer(X: Tensor): Tensor {
    const t = new Tape();
    return t.noRecord(() => {
      let h = X;
      this.layers.forEach((layer, i) => {
        const hidden = i < this.layers.length - 1;
        const fused = hidden && this.activation === 'tanh' ? kernels.matmulAddTanh(h.array, layer.W.array, layer.b.array) : null;
        if (fused) h = new Tensor(fused);
        else {
          h = layer.forward(t, h);
          if (hidden) h = activate(t, this.activation, h);
        }
      });
      return h;
    });
  }

  /** W and b of every layer, in order. */
  parameters(): Tensor[] {
    return this.layers.flatMap((l) => [l.W, l.b]);
  }

  /** `layers.{i}.weight` [in, out] and `layers.{i}.bias` [out], as a saved file names them. */
  named(): Map<string, Tensor> {
    return new Map(
      this.layers.flatMap((l, i) => [
        [`layers.${i}.weight`, l.W],
        [`layers.${i}.bias`, l.b],
      ]),
    );
  }

  describe(): Record<string, string> {
    return { format: MLP_FORMAT, sizes: JSON.stringify(this.sizes), activation: this.activation };
  }

  get dtype(): DType {
    return this.layers[0].W.dtype;
  }
  get inputSize(): number {
    return this.sizes[0];
  }
  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }
}

export function activate(t: Tape, name: ActivationName, h: Tensor): Tensor {
  switch (name) {
    case 'relu':
      return t.relu(h);
    case 'elu':
      return t.elu(h, 1);
    case 'tanh':
      return t.tanh(h);
    case 'sigmoid':
      return t.sigmoid(h);
  }
}

/** The most entries one typed array holds (V8's limit): a larger weight matrix cannot be made. */
export const MAX_TENSOR_SIZE = 2 ** 32;

function validateSpec(spec: MLPSpec): void {
  if (spec.sizes.length < 2 || spec.sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`MLP: layer sizes must be two or more positive integers, got [${spec.sizes.join(',')}]`);
  }
  const problem = layersProblem(spec.sizes);
  if (problem) throw new Error(`MLP: ${problem}`);
}

/** What makes layer sizes impossible to allocate: a weight matrix larger than one array can be; undefined when none is. */
export function layersProblem(sizes: number[]): string | undefined {
  const i = sizes.slice(1).findIndex((n, k) => sizes[k] * n > MAX_TENSOR_SIZE);
  if (i < 0) return undefined;
  return `layer ${i + 1} (${sizes[i]} x ${sizes[i + 1]}) would hold ${(sizes[i] * sizes[i + 1]).toLocaleString('en-US')} weights, more than one array can hold (${MAX_TENSOR_SIZE.toLocaleString('en-US')}); use smaller layers`;
}
