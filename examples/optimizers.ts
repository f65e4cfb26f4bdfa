// The graph's optimisers on a layer library model, without the MLP package: AdamW with a warm-up
// then cosine schedule, a step per batch, and an exact resume from the optimiser's state.
import { AdamW, cosine, LRScheduler, nn, Rng, Tape, warmup, type Tensor } from '@backprop/graph';

const rng = Rng.seeded(3);
const X = rng.randn([32, 4], { dtype: 'float64' }),
  y = rng.randn([4, 1], { dtype: 'float64' }); // the target: a linear map of X, learnt by a small network
const net = () => nn.Model.init(new nn.Sequential([new nn.Linear(4, 16, { activation: 'tanh' }), new nn.Linear(16, 1)]), Rng.seeded(1), { dtype: 'float64' });
const lossOf = (t: Tape, model: nn.Model): Tensor => t.mseLoss(model.forward(t, X), t.matmul(X, y));

const model = net();
const opt = new AdamW(model.parameters(), { lr: 0.05, weightDecay: 0.01 });
const schedule = new LRScheduler(opt, warmup({ lr: 0.05, steps: 5 }, cosine({ lr: 0.05, steps: 75 })));
for (let step = 1; step <= 60; step++) {
  const t = new Tape();
  const loss = lossOf(t, model);
  t.backward(loss);
  opt.step(); // writes every parameter in place (one kernel call), bumping its version
  schedule.step(); // the rate of the next step
  if (step % 15 === 0) console.log(`step ${step}: loss ${loss.item().toFixed(5)}, next lr ${opt.lr.toFixed(5)}`);
}

// Resume: the weights and the optimiser's state (moments and step count) carry on exactly.
const state = opt.state().map((b) => b.slice());
const copy = net();
copy.parameters().forEach((p, i) => p.assign(model.parameters()[i]));
const resumed = new AdamW(copy.parameters(), { lr: opt.lr, weightDecay: 0.01 });
resumed.loadState(state);
for (const [m, o] of [
  [model, opt],
  [copy, resumed],
] as const) {
  const t = new Tape();
  t.backward(lossOf(t, m));
  o.step();
}
const same = model.parameters().every((p, i) => p.toFlatArray().every((v, j) => Object.is(v, copy.parameters()[i].toFlatArray()[j])));
console.log(`one more step, original and resumed: ${same ? 'the same bits' : 'different'}`);
