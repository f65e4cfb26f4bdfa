// A small network from the ops for custom architectures (an embedding, concat, batch and layer
// normalisation, GELU, dropout, the mean squared error): a few SGD steps, the running
// statistics kept beside the parameters, then gradcheck of the whole forward pass.
import { full, gradcheck, Rng, SGD, Tape, tidy, updateRunningStats, zeros, type BatchStats, type Tensor } from '@backprop/graph';

const f64 = { dtype: 'float64' } as const,
  param = { ...f64, requiresGrad: true };
const rng = Rng.seeded(1);
const tokens = [3, 0, 3, 1, 2, 4]; // six examples: a token each, and two numbers
const numbers = rng.randn([6, 2], f64),
  target = rng.randn([6, 1], f64);
const params = [rng.randn([5, 4], param), full([6], 1, param), zeros([6], param), rng.randn([6, 1], param)]; // E, gain, bias, W
const running = { mean: zeros([6], f64), var: full([6], 1, f64) }; // state of the model, not parameters
const sgd = new SGD(params, 0.1);

/** In training: batch statistics (reported in `stats`) and dropout; in evaluation: the running statistics, no dropout. */
function loss(t: Tape, [E, gain, bias, W]: Tensor[], training: boolean, dropoutRng: Rng | null, stats?: BatchStats): Tensor {
  const h = t.concat([t.gather(E, tokens), numbers], 1); // [6, 4 + 2]
  const normed = training ? t.batchNorm(h, gain, bias, { training, stats }) : t.batchNorm(h, gain, bias, { training, running });
  const z = t.gelu(t.layerNorm(normed));
  return t.mseLoss(t.matmul(t.dropout(z, 0.1, dropoutRng, training), W), target);
}

for (let step = 0; step < 8; step++) {
  const value = tidy(() => {
    const t = new Tape(),
      stats: BatchStats = {};
    const l = loss(t, params, true, rng, stats);
    t.backward(l);
    updateRunningStats(running, stats, 0.3);
    sgd.step();
    return l.item();
  });
  console.log(`step ${step}: loss ${value.toFixed(4)}, running mean of feature 4 ${running.mean.toFlatArray()[4].toFixed(4)}`);
}
const evaluation = tidy(() => {
  const t = new Tape();
  return t.noRecord(() => loss(t, params, false, null)).item();
});
console.log(`evaluation (running statistics, no dropout): loss ${evaluation.toFixed(4)}`);
// gradcheck evaluates the loss many times: the same dropout mask each time, from a fresh generator.
console.log(gradcheck((t, ...p) => loss(t, p, true, Rng.seeded(9)), params).summary);
