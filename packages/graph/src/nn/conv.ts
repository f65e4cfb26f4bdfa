/** Convolution and pooling over NCHW images, and Flatten to go from them to dense layers. */
import type { Tape } from '../tape.ts';
import type { Tensor } from '../tensor.ts';
import type { Conv2dOptions, Pair } from '../ops/conv.ts';
import type { AvgPool2dOptions, Pool2dOptions } from '../ops/pool.ts';
import { expectInput, type Layer, type LayerContext, type ParameterInit, type ParameterSpec } from './layer.ts';
import { activate, checkActivation, positive, type ActivationName } from './linear.ts';

const pair = (k: Pair): [number, number] => (typeof k === 'number' ? [k, k] : [k[0], k[1]]);
const show = (k: Pair) => (typeof k === 'number' ? `${k}` : `[${k}]`);

export interface Conv2dLayerOptions extends Conv2dOptions {
  /** Add a bias [out] (default true). */
  bias?: boolean;
  /** The filters' initialisation (default xavier), with fan-in in/groups·kh·kw and fan-out out·kh·kw; the bias starts at zero. */
  init?: ParameterInit;
  activation?: ActivationName;
}

/** conv2d of x [N, in, H, W] with filters [out, in / groups, kh, kw] (PyTorch's layout) and a bias [out], then the activation. */
export class Conv2d implements Layer {
  readonly label: string;
  readonly parameters: Record<string, ParameterSpec>;
  private readonly options: Conv2dOptions;
  private readonly activation?: ActivationName;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: Pair,
    options: Conv2dLayerOptions = {},
  ) {
    this.label = `Conv2d(${inChannels}, ${outChannels}, ${show(kernel)})`;
    positive(this.label, 'inChannels', inChannels);
    positive(this.label, 'outChannels', outChannels);
    const [kh, kw] = pair(kernel),
      groups = options.groups ?? 1;
    positive(this.label, 'the kernel size', kh);
    positive(this.label, 'the kernel size', kw);
    if (inChannels % groups || outChannels % groups) throw new Error(`${this.label}: groups ${groups} must divide both channel counts`);
    const { bias, init, activation, ...conv } = options;
    this.options = conv;
    this.activation = checkActivation(this.label, activation);
    this.parameters = {
      weight: {
        shape: [outChannels, inChannels / groups, kh, kw],
        init: init ?? 'xavier',
        fanIn: (inChannels / groups) * kh * kw,
        fanOut: outChannels * kh * kw,
      },
    };
    if (bias ?? true) this.parameters.bias = { shape: [outChannels], init: 'zeros' };
  }

  forward(t: Tape, x: Tensor, { p }: LayerContext): Tensor {
    expectInput(x, 4, [this.inChannels, null, null], `[N, ${this.inChannels}, H, W]`, true);
    return activate(t, t.conv2d(x, p.weight, this.options, p.bias), this.activation);
  }
}

/** The maximum of each window of each plane of x [N, C, H, W] (stride: the kernel, by default). */
export class MaxPool2d implements Layer {
  readonly label: string;
  constructor(
    readonly kernel: Pair,
    readonly options: Pool2dOptions = {},
  ) {
    this.label = `MaxPool2d(${show(kernel)})`;
  }
  forward(t: Tape, x: Tensor): Tensor {
    expectInput(x, 4, [], '[N, C, H, W]', true);
    return t.maxPool2d(x, this.kernel, this.options);
  }
}

/** The mean of each window of each plane of x [N, C, H, W]. */
export class AvgPool2d implements Layer {
  readonly label: string;
  constructor(
    readonly kernel: Pair,
    readonly options: AvgPool2dOptions = {},
  ) {
    this.label = `AvgPool2d(${show(kernel)})`;
  }
  forward(t: Tape, x: Tensor): Tensor {
    expectInput(x, 4, [], '[N, C, H, W]', true);
    return t.avgPool2d(x, this.kernel, this.options);
  }
}

/** x [N, ...] as [N, the rest]: from convolutions to dense layers. */
export class Flatten implements Layer {
  readonly label = 'Flatten()';
  forward(t: Tape, x: Tensor, _ctx?: LayerContext): Tensor {
    expectInput(x, 1, [], '[N, ...]');
    return t.flatten(x);
  }
}
