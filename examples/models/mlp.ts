// The paper's final network (§3.5) as a model file: 784-800-100-10, tanh, scores S = H2 W3 + b3.
// `backprop train --model examples/models/mlp.ts` trains it to the same bits as `backprop train`:
// the same draws in the same order (each layer's W from N(0,1) x 1e-3, its b at zero) and the same ops.
// Its backward pass is §2.1's matrix formulas, by hand, with each layer's dl/dH for gradcheck to compare.
import type { ModelDefinition, ParameterSpec } from '@backprop/mlp';
import type { Tensor } from '@backprop/graph';

const sizes = [784, 800, 100, 10];
const L = sizes.length - 1;
const parameters: Record<string, ParameterSpec> = {};
for (let l = 0; l < L; l++) {
  parameters[`layers.${l}.weight`] = { shape: [sizes[l], sizes[l + 1]], init: 'paper' };
  parameters[`layers.${l}.bias`] = { shape: [sizes[l + 1]], init: 'zeros' };
}

export default {
  description: "the paper's final network, 784-800-100-10 tanh",
  input: [784],
  outputs: 10,
  parameters,
  forward(t, p, X, ctx) {
    let H = X;
    for (let l = 0; l < L; l++) {
      const P = t.add(t.matmul(H, p[`layers.${l}.weight`]), p[`layers.${l}.bias`]);
      H = l < L - 1 ? ctx.name(`H${l + 1}`, t.tanh(P)) : P;
    }
    return H;
  },
  // M = dl/dS; dl/dW = Hᵀ M, dl/db = column sums of M, dl/dH = M Wᵀ, then M = dl/dH ⊙ (1 - H²) one layer down.
  backward({ t, p, X, values, dS }) {
    const grads: Record<string, Tensor> = {},
      valueGrads: Record<string, Tensor> = {};
    let M = dS;
    for (let l = L - 1; l >= 0; l--) {
      const H = l === 0 ? X : values[`H${l}`];
      grads[`layers.${l}.weight`] = t.matmul(H.T, M);
      grads[`layers.${l}.bias`] = t.sum(M, 0);
      if (l > 0) {
        valueGrads[`H${l}`] = t.matmul(M, p[`layers.${l}.weight`].T);
        M = t.mul(valueGrads[`H${l}`], t.sub(1, t.square(H)));
      }
    }
    return { grads, valueGrads };
  },
} satisfies ModelDefinition;
