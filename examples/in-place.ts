// An in-place write to a tensor a tape saved for backward is refused; Tensor.update is the safe way to write.
import { Tape, tensor } from '@backprop/graph';

const W = tensor(
  [
    [1.5, -0.2],
    [0.7, 1.1],
  ],
  { requiresGrad: true, name: 'W' },
);
const t = new Tape();
const loss = t.sum(t.mul(W, W)); // mul saves W (at version 0) for its backward, 2 W
W.update((w) => void (w.data[0] += 10)); // an in-place write through the API: W is now at version 1
try {
  t.backward(loss);
} catch (e) {
  console.log((e as Error).message);
}
// After backward, a step is safe: the next forward pass saves the new version.
const t2 = new Tape();
t2.backward(t2.sum(t2.mul(W, W)));
console.log(`W.version ${W.version}, dl/dW[0,0] ${W.grad!.get(0, 0)}`);
