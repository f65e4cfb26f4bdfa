import { Rng, Tape, tidy } from '@backprop/graph';
import { handBackward, loadMnist, lossOnTape, MLP, SGD } from '@backprop/mlp';
const path = process.argv[2] ?? 'tape', batch = Number(process.argv[3] ?? 8), count = Number(process.argv[4] ?? 3000);
const { train } = loadMnist();
const rng = Rng.seeded(1);
const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
const params = net.parameters();
const sgd = new SGD(params, 0.01);
const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
const t0 = performance.now();
for (let s = 0; s < count; s++) {
  tidy(() => {
    const { X, y } = train.batch(order.subarray((s * batch) % 59000, (s * batch) % 59000 + batch));
    if (path === 'tape') { const t = new Tape(); const loss = lossOnTape(t, 'hinge', net.forward(t, X), y); t.backward(loss); }
    else handBackward(net, X, y, 'hinge').grads.forEach((g, i) => (params[i].grad = g));
    sgd.step();
  });
}
const ms = (performance.now() - t0) / count;
console.log(path, batch, ms.toFixed(3), 'ms/step', (ms * 60000 / batch / 1000).toFixed(2), 's/epoch');
