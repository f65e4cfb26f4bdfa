/** Optimisers: each updates the parameters in place from their `.grad`, through `Tensor.update` (which bumps their versions). */
import { addScaledRows, allocate, kernels, type Data, type Tensor } from '@backprop/graph';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export const optimizerNames: OptimizerName[] = ['sgd', 'momentum', 'adam'];

export interface Optimizer {
  /** The learning rate of the next step (a schedule sets it before each step). */
  lr: number;
  step(): void;
  /** Buffers that a checkpoint must keep for an exact resume (empty for plain SGD). */
  state(): Data[];
}

/** What is done to the gradients before every optimiser's update (both off by default). */
export interface GradientOptions {
  /** Clip by global norm: when the L2 norm of all gradients as one vector exceeds this, scale them all down to it. */
  clipNorm?: number;
  /** L2 weight decay: wd * w is added to the gradient of every weight matrix (biases are exempt). */
  weightDecay?: number;
}

export interface OptimizerOptions extends GradientOptions {
  lr: number;
  /** Momentum coefficient (default 0.9). */
  momentum?: number;
  /** Adam's beta1, beta2 and epsilon (defaults 0.9, 0.999, 1e-8). */
  betas?: [number, number];
  eps?: number;
}

/** Plain gradient descent, as in the paper: w -= lr * dl/dw. */
export class SGD implements Optimizer {
  constructor(
    private readonly params: Tensor[],
    public lr: number,
    private readonly gradients: GradientOptions = {},
  ) {}
  step(): void {
    const { clipNorm, weightDecay } = this.gradients;
    if (clipNorm === undefined && !weightDecay) {
      // A row-sparse gradient (the first layer's, with sparse inputs) updates only its rows, with
      // the bits of the dense update; clipping and decay touch every row, so they take the dense path.
      const grads = this.params.map(gradientOf); // every gradient is there before any parameter moves
      this.params.forEach((p, k) => addScaledRows(p, grads[k], -this.lr) || p.update((w) => kernels.addScaled(w.data, kernels.flat(grads[k].array), -this.lr)));
      return;
    }
    const g = stepGradients(this.params, this.gradients);
    this.params.forEach((p, k) => p.update((w) => kernels.addScaled(w.data, g[k], -this.lr)));
  }
  state(): Data[] {
    return [];
  }
}

/** SGD with momentum: v = mu v + g, w -= lr v. */
export class Momentum implements Optimizer {
  private readonly velocity: Data[];
  constructor(
    private readonly params: Tensor[],
    public lr: number,
    private readonly mu = 0.9,
    private readonly gradients: GradientOptions = {},
  ) {
    this.velocity = params.map((p) => allocate(p.dtype, p.size, 'owned'));
  }
  step(): void {
    const g = stepGradients(this.params, this.gradients);
    this.params.forEach((p, k) => p.update((w) => kernels.momentumStep(w.data, g[k], this.velocity[k], this.lr, this.mu)));
  }
  state(): Data[] {
    return this.velocity;
  }
}

/** Adam (Kingma and Ba 2015), with bias correction. */
export class Adam implements Optimizer {
  private readonly m: Data[];
  private readonly v: Data[];
  private readonly t: Float64Array = new Float64Array(1);
  constructor(
    private readonly params: Tensor[],
    public lr: number,
    private readonly betas: [number, number] = [0.9, 0.999],
    private readonly eps = 1e-8,
    private readonly gradients: GradientOptions = {},
  ) {
    this.m = params.map((p) => allocate(p.dtype, p.size, 'owned'));
    this.v = params.map((p) => allocate(p.dtype, p.size, 'owned'));
  }
  step(): void {
    const [b1, b2] = this.betas;
    const t = ++this.t[0];
    const c1 = 1 - b1 ** t,
      c2 = 1 - b2 ** t;
    const g = stepGradients(this.params, this.gradients);
    this.params.forEach((p, k) => p.update((w) => kernels.adamStep(w.data, g[k], this.m[k], this.v[k], this.lr, this.betas, c1, c2, this.eps)));
  }
  state(): Data[] {
    return [...this.m, ...this.v, this.t];
  }
}

export function createOptimizer(name: OptimizerName, params: Tensor[], options: OptimizerOptions): Optimizer {
  const { clipNorm, weightDecay } = options;
  switch (name) {
    case 'sgd':
      return new SGD(params, options.lr, { clipNorm, weightDecay });
    case 'momentum':
      return new Momentum(params, options.lr, options.momentum, { clipNorm, weightDecay });
    case 'adam':
      return new Adam(params, options.lr, options.betas, options.eps, { clipNorm, weightDecay });
  }
}

/** The L2 norm of all the gradients of `params` taken as one vector. */
export function globalGradNorm(params: Tensor[]): number {
  return Math.sqrt(params.reduce((s, p) => s + kernels.sumOfSquares(gradOf(p)), 0));
}

/**
 * The gradients an update uses, in the parameters' (contiguous) layout, in PyTorch's order: first
 * clipped by global norm (when it exceeds clipNorm, each is scaled by clipNorm / (norm + 1e-6), as
 * clip_grad_norm_ does, so the step keeps its direction), then wd * w added for weight matrices
 * (L2 regularisation; biases are exempt: decaying them does not limit what the network can fit).
 * Both change the step's gradients in place (bumping their versions); with neither, they are the gradients as they are.
 */
function stepGradients(params: Tensor[], { clipNorm, weightDecay }: GradientOptions): Data[] {
  const grads = params.map(gradOf);
  if (clipNorm !== undefined) {
    const norm = Math.sqrt(grads.reduce((s, g) => s + kernels.sumOfSquares(g), 0));
    const scale = clipNorm / (norm + 1e-6);
    if (scale < 1) params.forEach((p, k) => gradientOf(p).update(() => kernels.scaleInPlace(grads[k], scale)));
  }
  if (weightDecay) params.forEach((p, k) => p.shape.length > 1 && gradientOf(p).update(() => kernels.addScaled(grads[k], p.array.data, weightDecay)));
  return grads;
}

function gradOf(p: Tensor): Data {
  return kernels.flat(gradientOf(p).array); // the gradient in the parameter's (contiguous) layout, copied only if strided
}

/** `p.grad`, or an error saying how to get one. */
function gradientOf(p: Tensor): Tensor {
  if (!p.grad) {
    const which = p.name ? `'${p.name}' [${p.shape}]` : `[${p.shape}]`;
    throw new Error(`optimizer: parameter ${which} has no gradient: the loss does not depend on it, or tape.backward(loss) was not run`);
  }
  return p.grad;
}
