/**
 * The optimisers of `train` by name, on @backprop/graph's (which update the parameters in place
 * from their `.grad`, through `Tensor.update`). Weight decay here is L2 on weight matrices only:
 * biases are exempt (decaying them does not limit what the network can fit).
 */
import { Adam, SGD, type Optimizer, type Tensor } from '@backprop/graph';

export { Adam, SGD, globalGradNorm, type Optimizer } from '@backprop/graph';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export const optimizerNames: OptimizerName[] = ['sgd', 'momentum', 'adam'];

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

/** Weight matrices decay, biases do not. */
const matrices = (p: Tensor) => p.shape.length > 1;

export function createOptimizer(name: OptimizerName, params: Tensor[], options: OptimizerOptions): Optimizer {
  const { lr, clipNorm, weightDecay } = options;
  const common = { lr, clipNorm, weightDecay, decays: matrices };
  switch (name) {
    case 'sgd':
      return new SGD(params, common);
    case 'momentum':
      return new SGD(params, { ...common, momentum: options.momentum ?? 0.9 });
    case 'adam':
      return new Adam(params, { ...common, betas: options.betas, eps: options.eps });
  }
}
