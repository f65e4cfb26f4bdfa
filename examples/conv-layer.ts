// A convolutional layer, conv2d + tanh + maxPool2d, and its gradients for the input, the filters and
// the biases against central differences (gradcheck), then its second derivatives (gradgradcheck).
import { gradcheck, gradgradcheck, Rng, type Tape, type Tensor } from '@backprop/graph';

const rng = Rng.seeded(7),
  f64 = { dtype: 'float64' } as const;
const x = rng.randn([2, 3, 8, 8], f64); // two 3-channel 8x8 images
const w = rng.randn([4, 3, 3, 3], f64); // four 3x3 filters
const b = rng.randn([4], f64); // their biases
const layer = (t: Tape, x: Tensor, w: Tensor, b: Tensor) => t.maxPool2d(t.tanh(t.conv2d(x, w, { padding: 1 }, b)), 2);
console.log(gradcheck(layer, [x, w, b]).summary);
console.log(gradgradcheck(layer, [x, w, b]).summary);
