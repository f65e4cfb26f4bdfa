// A two-layer network on the graph package alone: forward, loss, backward, an SGD step.
import { Rng, SGD, Tape } from '@backprop/graph';

const rng = Rng.seeded(42);
const X = rng.rand([8, 4]); // a batch of 8 samples with 4 features
const y = [0, 1, 2, 1, 0, 2, 1, 0]; // their classes
const W1 = rng.randn([4, 16], { requiresGrad: true });
const b1 = rng.randn([16], { requiresGrad: true });
const W2 = rng.randn([16, 3], { requiresGrad: true });
const b2 = rng.randn([3], { requiresGrad: true });
const sgd = new SGD([W1, b1, W2, b2], 0.1); // w -= 0.1 dl/dw for each, in place

for (let step = 0; step < 5; step++) {
  const t = new Tape();
  const H = t.tanh(t.add(t.matmul(X, W1), b1)); // H1 = g(X W1 + b1)
  const S = t.add(t.matmul(H, W2), b2); //          S = H1 W2 + b2
  const loss = t.hingeLoss(S, y);
  t.backward(loss); // sets W1.grad, b1.grad, W2.grad, b2.grad
  sgd.step();
  console.log(`step ${step}: hinge loss ${loss.item().toFixed(4)}`);
}
