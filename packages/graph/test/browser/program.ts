/**
 * A small float32 training program on @backprop/graph's sources, run both in Node and, bundled, in
 * Chromium (chromium.test.ts): a convolution, max pooling, two dense layers with tanh and relu, the
 * hinge loss, backward and three SGD steps, then the loss of every step and the final gradients as
 * float32 bit patterns. It goes through every WebAssembly kernel a training step uses (products,
 * tanh, bias, patches, pooling, the update) and grows the memory past its first 1 MiB.
 *
 * NOTE: the weights are drawn uniform, not normal: Rng.normal calls Math.log and Math.cos, whose
 * last bit differs between V8 releases (Node 20's and Chromium's): see the README (@backprop/graph).
 */
import { defaultMemory, kernels, Rng, Tape, tidy, type Tensor } from '../../src/index.ts';
import { kernelsName } from '../../src/kernels/wasm.ts';

export interface Bits {
  kernels: string;
  /** The WebAssembly memory's size at the end (bytes), 0 without one. */
  memory: number;
  losses: string[];
  grads: string[][];
}

const hex = (values: Iterable<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer), (u) => u.toString(16).padStart(8, '0'));

export function program(): Bits {
  const rng = Rng.seeded(2026);
  const uniform = (shape: number[], scale: number, requiresGrad = false) => rng.tensor(shape, (r) => scale * (2 * r.uniform() - 1), { requiresGrad });
  // 64 images 3x12x12, a third of the pixels zero (the sparse product reads them)
  const X = rng.tensor([64, 3, 12, 12], (r) => (r.uniform() < 1 / 3 ? 0 : r.uniform()));
  const labels = Array.from({ length: 64 }, () => rng.int(10));
  const K = uniform([8, 3, 3, 3], 0.3, true),
    c = uniform([8], 0.1, true);
  const W1 = uniform([8 * 5 * 5, 64], 0.1, true),
    b1 = uniform([64], 0.1, true);
  const W2 = uniform([64, 10], 0.2, true),
    b2 = uniform([10], 0.1, true);
  const params = [K, c, W1, b1, W2, b2];
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    tidy(() => {
      const t = new Tape();
      const conv = t.relu(t.conv2d(X, K, {}, c)); // [64, 8, 10, 10]
      const pooled = t.reshape(t.maxPool2d(conv, 2), [64, 8 * 5 * 5]);
      const h = t.tanh(t.add(t.matmul(pooled, W1), b1));
      const loss = t.hingeLoss(t.add(t.matmul(h, W2), b2), labels);
      t.backward(loss);
      losses.push(loss.item());
      for (const p of params) kernels.addScaled(p.array.data, p.grad!.array.data, -0.05);
    });
  }
  return { kernels: kernelsName(), memory: defaultMemory().size, losses: hex(losses), grads: params.map((p: Tensor) => hex(p.grad!.toFlatArray())) };
}
