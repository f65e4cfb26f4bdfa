// examples/models/residual.ts with a slip in its hand-derived backward pass, as one makes it on paper:
// going down through the second residual block, dl/dH2 leaves out the gradient that comes through the
// skip connection (dl/dH2 = dl/dP3 W3ᵀ, where it is dl/dH3 + dl/dP3 W3ᵀ). The forward pass is the
// same. Every gradient below the slip is wrong too; `backprop gradcheck --model
// examples/models/residual-slip.ts` names H2, the first value from the loss backwards where this pass
// and the tape disagree.
import type { ModelDefinition } from '@backprop/mlp';
import type { Tensor } from '@backprop/graph';
import residual from './residual.ts';

const last = 4; // W1 b1, two blocks (W2 b2, W3 b3), W4 b4

export default {
  ...residual,
  description: 'the residual MLP, with a slip in its hand-derived backward pass',
  backward({ t, p, X, values, dS }) {
    const grads: Record<string, Tensor> = {},
      valueGrads: Record<string, Tensor> = { S: dS };
    grads[`W${last}`] = t.matmul(values[`H${last - 1}`].T, dS);
    grads[`b${last}`] = t.sum(dS, 0);
    let dH = (valueGrads[`H${last - 1}`] = t.matmul(dS, p[`W${last}`].T));
    for (let k = last - 1; k >= 2; k--) {
      const T = t.sub(values[`H${k}`], values[`H${k - 1}`]);
      const dP = t.mul(dH, t.sub(1, t.square(T)));
      grads[`W${k}`] = t.matmul(values[`H${k - 1}`].T, dP);
      grads[`b${k}`] = t.sum(dP, 0);
      const throughBlock = t.matmul(dP, p[`W${k}`].T);
      dH = valueGrads[`H${k - 1}`] = k === 3 ? throughBlock : t.add(dH, throughBlock); // the slip: no skip term at k = 3
    }
    const dP1 = t.mul(dH, t.sub(1, t.square(values.H1)));
    grads.W1 = t.matmul(X.T, dP1);
    grads.b1 = t.sum(dP1, 0);
    return { grads, valueGrads };
  },
} satisfies ModelDefinition;
