// A custom op: softplus(x) = log(1 + e^x), whose derivative is sigmoid(x).
// It is defined with the same `defineOp` the built-in ops use, and checked with gradcheck; its
// backward is written with the tape's ops, so gradgradcheck can check its second derivative too.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineOp, gradcheck, gradgradcheck, kernels, Rng, wrap, type Tensor } from '@backprop/graph';

export const softplus = defineOp(
  'softplus',
  (x: Tensor) => {
    // NOTE: max(x, 0) + log1p(e^-|x|) does not overflow for large |x|.
    const y = kernels.map(x.array, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))));
    return {
      out: wrap(y),
      // saves x: d softplus / dx = sigmoid(x)
      backward: (g, _needs, t) => [t.mul(g, t.sigmoid(x))],
    };
  },
  "softplus'(x) = sigmoid(x)",
);

// Run as a program (the tests import `softplus` without this), from any path to the file, links included.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const x = Rng.seeded(1).randn([3, 4], { dtype: 'float64' });
  console.log(gradcheck((tape, x) => tape.apply(softplus, x), [x]).summary);
  console.log(gradgradcheck((tape, x) => tape.apply(softplus, x), [x]).summary);
}
