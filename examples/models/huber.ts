// A regression network with its own loss: 4-16-1, tanh, trained on the Huber loss (PyTorch's
// HuberLoss, delta 1): 0.5 d^2 where |d| <= 1, |d| - 0.5 beyond, for d = output - target, averaged.
// `backprop train --model examples/models/huber.ts --data examples/data/line.npz` trains with it
// (--loss mse or mae would replace it); the run reports the MSE, as every regression run does.
import type { Tensor } from '@backprop/graph';
import type { ModelDefinition } from '@backprop/mlp';

export default {
  description: 'a 4-16-1 tanh regression network with the Huber loss',
  input: [4],
  outputs: 1,
  parameters: {
    'hidden.weight': { shape: [4, 16], init: 'xavier' },
    'hidden.bias': { shape: [16], init: 'zeros' },
    'out.weight': { shape: [16, 1], init: 'xavier' },
    'out.bias': { shape: [1], init: 'zeros' },
  },
  forward: (t, p, X) => t.add(t.matmul(t.tanh(t.add(t.matmul(X, p['hidden.weight']), p['hidden.bias'])), p['out.weight']), p['out.bias']),
  // targets: the batch's targets Y [n, 1] (regression); class labels would come as integers
  loss(t, outputs, targets) {
    const a = t.abs(t.sub(outputs, targets as Tensor)),
      q = t.minimum(a, 1); // q = min(|d|, 1)
    return t.mean(t.add(t.scale(t.square(q), 0.5), t.sub(a, q)));
  },
} satisfies ModelDefinition;
