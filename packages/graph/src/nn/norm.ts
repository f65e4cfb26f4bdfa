/** Normalisation and regularisation: LayerNorm, BatchNorm (running statistics as state) and Dropout. */
import type { Tape } from '../tape.ts';
import type { Tensor } from '../tensor.ts';
import { expectInput, type Layer, type LayerContext, type ParameterSpec, type StateSpec } from './layer.ts';
import { positive } from './linear.ts';

/** Options of both normalisations. */
export interface NormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** A learnt gain (ones) and bias (zeros) per feature (default true). */
  affine?: boolean;
}

const affine = (size: number, on: boolean): Record<string, ParameterSpec> =>
  on ? { gain: { shape: [size], init: 'ones' }, bias: { shape: [size], init: 'zeros' } } : {};

/** Each row normalised over the last axis (of size `features`), then x̂ · gain + bias. */
export class LayerNorm implements Layer {
  readonly label: string;
  readonly parameters: Record<string, ParameterSpec>;
  private readonly eps: number;

  constructor(
    readonly features: number,
    options: NormOptions = {},
  ) {
    this.label = `LayerNorm(${features})`;
    positive(this.label, 'features', features);
    this.eps = options.eps ?? 1e-5;
    this.parameters = affine(features, options.affine ?? true);
  }

  forward(t: Tape, x: Tensor, { p }: LayerContext): Tensor {
    expectInput(x, 1, [this.features], `[..., ${this.features}]`);
    return t.layerNorm(x, p.gain ?? null, p.bias ?? null, this.eps);
  }
}

/**
 * Each channel (axis 1 of [N, C], [N, C, L] or [N, C, H, W]) normalised by the batch's statistics in
 * training and by the running ones in evaluation, then x̂ · gain + bias. The running mean and variance
 * are state (`mean`, `var`): after each training pass, running ← (1 - momentum) running + momentum
 * batch, with the batch's variance unbiased, as PyTorch does.
 */
export class BatchNorm implements Layer {
  readonly label: string;
  readonly parameters: Record<string, ParameterSpec>;
  readonly state: Record<string, StateSpec>;
  private readonly eps: number;
  private readonly momentum: number;

  constructor(
    readonly channels: number,
    options: NormOptions & { momentum?: number } = {},
  ) {
    this.label = `BatchNorm(${channels})`;
    positive(this.label, 'channels', channels);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`${this.label}: momentum must be in [0, 1], got ${this.momentum}`);
    this.parameters = affine(channels, options.affine ?? true);
    this.state = { mean: { shape: [channels], init: 'zeros' }, var: { shape: [channels], init: 'ones' } };
  }

  forward(_t: Tape, x: Tensor, ctx: LayerContext): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.channels) throw new Error(`expects input [N, ${this.channels}, ...] (channels on axis 1), got [${x.shape}]`);
    return ctx.batchNorm(x, ctx.p.gain ?? null, ctx.p.bias ?? null, { momentum: this.momentum, eps: this.eps });
  }
}

/** Inverted dropout: in training each value is zeroed with probability `rate`, the others scaled by 1 / (1 - rate); the identity in evaluation. */
export class Dropout implements Layer {
  readonly label: string;
  constructor(readonly rate: number) {
    this.label = `Dropout(${rate})`;
    if (!(rate >= 0 && rate < 1)) throw new Error(`${this.label}: the rate must be in [0, 1)`);
  }
  forward(_t: Tape, x: Tensor, ctx: LayerContext): Tensor {
    return ctx.dropout(x, this.rate);
  }
}
