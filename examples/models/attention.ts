// Self-attention on a toy sequence task: examples/data/pointer.npz holds sequences of 6 tokens
// (a digit 0-5 and its position, one-hot: [6, 12] an example); the first token's digit points at a
// position, and the label is the digit there. Which token matters depends on the data, not on
// where it sits: the first token's query attends over every token's key, softmax(q Kᵀ / √d) V
// gathers the digit it points at, and a small layer reads it out. A function of options: `d`, the
// width of the queries, keys and values, and `hidden`, the read-out layer's (--model-option d=8,
// or a sweep's grid over model.d).
//   backprop train --model examples/models/attention.ts --data examples/data/pointer.npz --lr 0.1 --epochs 2
//   backprop gradcheck --model examples/models/attention.ts --random
import type { ModelDefinition } from '@backprop/mlp';

const tokens = 6,
  features = 12,
  classes = 6;

/** The options and their defaults. */
export const options = { d: 16, hidden: 32 };

export default ({ d, hidden }: typeof options) =>
  ({
    description: `one self-attention head (d ${d}) over ${tokens} tokens, read out by a ${hidden}-unit ReLU layer`,
    input: [tokens, features],
    outputs: classes,
    parameters: {
      Wq: { shape: [features, d], init: 'xavier' },
      Wk: { shape: [features, d], init: 'xavier' },
      Wv: { shape: [features, d], init: 'xavier' },
      W1: { shape: [d, hidden], init: 'he' },
      b1: { shape: [hidden], init: 'zeros' },
      W2: { shape: [hidden, classes], init: 'xavier' },
      b2: { shape: [classes], init: 'zeros' },
    },
    forward(t, p, X, ctx) {
      const n = X.shape[0];
      const q = t.matmul(t.narrow(X, 1, 0, 1), p.Wq); // the first token's query [n, 1, d]
      const K = t.matmul(X, p.Wk),
        V = t.matmul(X, p.Wv); // every token's key and value [n, 6, d]: the weights broadcast over the batch
      const attention = ctx.name('attention', t.softmax(t.scale(t.einsum('bqd,bkd->bqk', q, K), 1 / Math.sqrt(d)))); // [n, 1, 6]
      const read = t.reshape(t.matmul(attention, V), [n, d]);
      return t.add(t.matmul(t.relu(t.add(t.matmul(read, p.W1), p.b1)), p.W2), p.b2);
    },
    // its own loss (train's default for this file, and what gradcheck checks): softmax cross-entropy over the 6 digits
    loss: (t, outputs, labels) => t.crossEntropy(outputs, labels as ArrayLike<number>),
  }) satisfies ModelDefinition;
