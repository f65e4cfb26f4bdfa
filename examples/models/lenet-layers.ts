// LeNet-5 of lenet.ts written with layers: the same tensors (names, shapes, initialisation, order)
// and the same ops, so that it trains to the same bits.
import { nn } from '@backprop/graph';
import { modelFromLayers } from '@backprop/mlp';

const { Sequential, Conv2d, MaxPool2d, Flatten, Linear } = nn;
const net = new Sequential({
  conv1: new Conv2d(1, 6, 5, { padding: 2, init: 'he', activation: 'relu' }),
  pool1: new MaxPool2d(2),
  conv2: new Conv2d(6, 16, 5, { init: 'he', activation: 'relu' }),
  pool2: new MaxPool2d(2),
  flatten: new Flatten(),
  fc1: new Linear(400, 120, { init: 'he', activation: 'relu' }),
  fc2: new Linear(120, 84, { init: 'he', activation: 'relu' }),
  fc3: new Linear(84, 10),
});

export default modelFromLayers(net, {
  input: [1, 28, 28],
  outputs: 10,
  description: 'LeNet-5 of layers: conv 6@5x5, max 2, conv 16@5x5, max 2, 400-120-84-10, relu',
});
