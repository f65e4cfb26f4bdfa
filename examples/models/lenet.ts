// LeNet-5 (LeCun et al. 1998) in its common modern form, on 28x28 images with their channel:
//   [n,1,28,28] conv 6@5x5 pad 2, relu, max 2x2 -> [n,6,14,14]
//               conv 16@5x5, relu, max 2x2      -> [n,16,5,5] -> 400 -> 120 relu -> 84 relu -> 10 scores
// Filters are [out, in, kh, kw] (PyTorch's layout), so He initialisation draws them with fan-in in·kh·kw.
import type { ModelDefinition, ParameterSpec } from '@backprop/mlp';

const he = (...shape: number[]): ParameterSpec => ({ shape, init: 'he' });
const zeros = (n: number): ParameterSpec => ({ shape: [n], init: 'zeros' });

export default {
  description: 'LeNet-5: conv 6@5x5, max 2, conv 16@5x5, max 2, 400-120-84-10, relu',
  input: [1, 28, 28],
  outputs: 10,
  parameters: {
    'conv1.weight': he(6, 1, 5, 5),
    'conv1.bias': zeros(6),
    'conv2.weight': he(16, 6, 5, 5),
    'conv2.bias': zeros(16),
    'fc1.weight': he(400, 120),
    'fc1.bias': zeros(120),
    'fc2.weight': he(120, 84),
    'fc2.bias': zeros(84),
    'fc3.weight': { shape: [84, 10], init: 'xavier' },
    'fc3.bias': zeros(10),
  },
  forward(t, p, X) {
    let h = t.maxPool2d(t.relu(t.conv2d(X, p['conv1.weight'], { padding: 2 }, p['conv1.bias'])), 2);
    h = t.maxPool2d(t.relu(t.conv2d(h, p['conv2.weight'], {}, p['conv2.bias'])), 2);
    h = t.relu(t.add(t.matmul(t.flatten(h), p['fc1.weight']), p['fc1.bias']));
    h = t.relu(t.add(t.matmul(h, p['fc2.weight']), p['fc2.bias']));
    return t.add(t.matmul(h, p['fc3.weight']), p['fc3.bias']);
  },
} satisfies ModelDefinition;
