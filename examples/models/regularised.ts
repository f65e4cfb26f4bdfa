// An MLP with batch and layer normalisation and dropout: 784-256 (batch-normalised, relu, dropout),
// 256-128 (layer-normalised, gelu, dropout), 128-10. Dropout masks are drawn from the run's generator
// (the seed fixes them, and a resumed run draws what it would have); in evaluation dropout is the
// identity and batchNorm uses its running statistics, which are state: saved in every checkpoint.
import type { ModelDefinition } from '@backprop/mlp';

export default {
  description: '784-256-128-10 with batchNorm, layerNorm, relu, gelu and dropout 0.2',
  input: [784],
  outputs: 10,
  parameters: {
    W1: { shape: [784, 256], init: 'he' }, // no bias: batchNorm's shift takes its place
    'bn1.gain': { shape: [256], init: 'ones' },
    'bn1.bias': { shape: [256], init: 'zeros' },
    W2: { shape: [256, 128], init: 'he' },
    b2: { shape: [128], init: 'zeros' },
    'ln2.gain': { shape: [128], init: 'ones' },
    'ln2.bias': { shape: [128], init: 'zeros' },
    W3: { shape: [128, 10], init: 'xavier' },
    b3: { shape: [10], init: 'zeros' },
  },
  state: {
    'bn1.mean': { shape: [256], init: 'zeros' },
    'bn1.var': { shape: [256], init: 'ones' },
  },
  forward(t, p, X, ctx) {
    const h1 = ctx.dropout(t.relu(ctx.batchNorm(t.matmul(X, p.W1), p['bn1.gain'], p['bn1.bias'], 'bn1')), 0.2);
    const h2 = ctx.dropout(t.gelu(t.layerNorm(t.add(t.matmul(h1, p.W2), p.b2), p['ln2.gain'], p['ln2.bias'])), 0.2);
    return t.add(t.matmul(h2, p.W3), p.b3);
  },
} satisfies ModelDefinition;
