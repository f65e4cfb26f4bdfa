// The residual MLP of residual.ts written with layers (without its hand-derived backward pass): the
// same tensors, named as there (W1, b1, ...) so that checkpoints of either load in the other.
import { nn } from '@backprop/graph';
import { modelFromLayers } from '@backprop/mlp';

const { Sequential, Residual, Linear } = nn;
const width = 64;
const net = new Sequential([
  new Linear(784, width, { activation: 'tanh' }),
  new Residual(new Linear(width, width, { activation: 'tanh' })),
  new Residual(new Linear(width, width, { activation: 'tanh' })),
  new Linear(width, 10),
]);

export default modelFromLayers(net, {
  input: [784],
  outputs: 10,
  description: `a residual MLP of layers, 784-${width}, 2 blocks H + tanh(H W + b), ${width}-10`,
  rename: (name) => `${name.endsWith('weight') ? 'W' : 'b'}${Number(name.split('.')[0]) + 1}`, // 0.weight -> W1
});
