// A residual MLP: a tanh layer, two residual blocks H + tanh(H W + b), and a linear layer of scores.
// Its backward pass is derived by hand below; `backprop gradcheck --model examples/models/residual.ts`
// compares it with the tape's and with central differences.
import type { ModelDefinition } from '@backprop/mlp';
import type { Tensor } from '@backprop/graph';

const width = 64,
  blocks = 2;
const layer = (fanIn: number, fanOut: number) => ({
  weight: { shape: [fanIn, fanOut], init: 'xavier' as const },
  bias: { shape: [fanOut], init: 'zeros' as const },
});
const parameters = Object.fromEntries(
  [layer(784, width), ...Array.from({ length: blocks }, () => layer(width, width)), layer(width, 10)].flatMap(({ weight, bias }, i) => [
    [`W${i + 1}`, weight],
    [`b${i + 1}`, bias],
  ]),
);

export default {
  description: `a residual MLP, 784-${width}, ${blocks} blocks H + tanh(H W + b), ${width}-10`,
  input: [784],
  outputs: 10,
  parameters,
  forward(t, p, X, ctx) {
    let H = ctx.name('H1', t.tanh(t.add(t.matmul(X, p.W1), p.b1)));
    for (let k = 2; k <= blocks + 1; k++) {
      H = ctx.name(`H${k}`, t.add(H, t.tanh(t.add(t.matmul(H, p[`W${k}`]), p[`b${k}`]))));
    }
    return ctx.name('S', t.add(t.matmul(H, p[`W${blocks + 2}`]), p[`b${blocks + 2}`]));
  },
  // With T_k = tanh(H_{k-1} W_k + b_k), so that H_k = H_{k-1} + T_k, and dl/dS from the loss:
  //   dl/dH_last = dl/dS Wᵀ;  dl/dP_k = dl/dH_k ⊙ (1 - T_k²);  dl/dH_{k-1} = dl/dH_k + dl/dP_k W_kᵀ (the skip adds dl/dH_k);
  //   dl/dW = (input of the layer)ᵀ dl/dP, dl/db = column sums of dl/dP, for every layer.
  backward({ t, p, X, values, dS }) {
    const last = blocks + 2;
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
      dH = valueGrads[`H${k - 1}`] = t.add(dH, t.matmul(dP, p[`W${k}`].T));
    }
    const dP1 = t.mul(dH, t.sub(1, t.square(values.H1)));
    grads.W1 = t.matmul(X.T, dP1);
    grads.b1 = t.sum(dP1, 0);
    return { grads, valueGrads };
  },
} satisfies ModelDefinition;
