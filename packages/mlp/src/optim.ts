/** Optimisers: each updates the parameters in place from their `.grad`. */
import { allocate, kernels, type Data, type Tensor } from '@backprop/graph';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export const optimizerNames: OptimizerName[] = ['sgd', 'momentum', 'adam'];

export interface Optimizer {
  step(): void;
  /** Buffers that a checkpoint must keep for an exact resume (empty for plain SGD). */
  state(): Data[];
}

export interface OptimizerOptions {
  lr: number;
  /** Momentum coefficient (default 0.9). */
  momentum?: number;
  /** Adam's beta1, beta2 and epsilon (defaults 0.9, 0.999, 1e-8). */
  betas?: [number, number];
  eps?: number;
}

/** Plain gradient descent, as in the paper: w -= lr * dl/dw. */
export class SGD implements Optimizer {
  constructor(private readonly params: Tensor[], private readonly lr: number) {}
  step(): void {
    for (const p of this.params) kernels.addScaled(p.array.data, gradOf(p), -this.lr);
  }
  state(): Data[] {
    return [];
  }
}

/** SGD with momentum: v = mu v + g, w -= lr v. */
export class Momentum implements Optimizer {
  private readonly velocity: Data[];
  constructor(private readonly params: Tensor[], private readonly lr: number, private readonly mu = 0.9) {
    this.velocity = params.map((p) => allocate(p.dtype, p.size, 'owned'));
  }
  step(): void {
    this.params.forEach((p, k) => kernels.momentumStep(p.array.data, gradOf(p), this.velocity[k], this.lr, this.mu));
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
  constructor(private readonly params: Tensor[], private readonly lr: number, private readonly betas: [number, number] = [0.9, 0.999], private readonly eps = 1e-8) {
    this.m = params.map((p) => allocate(p.dtype, p.size, 'owned'));
    this.v = params.map((p) => allocate(p.dtype, p.size, 'owned'));
  }
  step(): void {
    const [b1, b2] = this.betas;
    const t = ++this.t[0];
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
    this.params.forEach((p, k) => kernels.adamStep(p.array.data, gradOf(p), this.m[k], this.v[k], this.lr, this.betas, c1, c2, this.eps));
  }
  state(): Data[] {
    return [...this.m, ...this.v, this.t];
  }
}

export function createOptimizer(name: OptimizerName, params: Tensor[], options: OptimizerOptions): Optimizer {
  switch (name) {
    case 'sgd': return new SGD(params, options.lr);
    case 'momentum': return new Momentum(params, options.lr, options.momentum);
    case 'adam': return new Adam(params, options.lr, options.betas, options.eps);
  }
}

function gradOf(p: Tensor): Data {
  if (!p.grad) throw new Error(`optimizer: parameter ${p.name ?? ''} ${p.shape} has no gradient; run tape.backward(loss) first`);
  return kernels.flat(p.grad.array); // the gradient in the parameter's (contiguous) layout

}
